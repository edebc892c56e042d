import { sql } from "drizzle-orm";
import {
	bigint,
	bigserial,
	check,
	index,
	integer,
	jsonb,
	pgSequence,
	pgTable,
	primaryKey,
	smallint,
	text,
	uuid,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";

/**
 * Stored outcomes of POSTs that carried an `Idempotency-Key`, scoped to the principal.
 * `in_flight` rows are claims; `completed` rows replay their response until `expires_at`.
 */
export const idempotencyRecords = pgTable(
	"idempotency_records",
	{
		principal: text("principal").notNull(),
		key: text("key").notNull(),
		method: text("method").notNull(),
		path: text("path").notNull(),
		requestHash: text("request_hash").notNull(),
		state: text("state", { enum: ["in_flight", "completed"] }).notNull(),
		responseStatus: smallint("response_status"),
		responseBody: text("response_body"),
		responseContentType: text("response_content_type"),
		createdAt: createdAt(),
		lockedUntil: tsColumn("locked_until").notNull(),
		expiresAt: tsColumn("expires_at").notNull(),
	},
	(t) => [
		primaryKey({ name: "idempotency_records_pkey", columns: [t.principal, t.key] }),
		index("idempotency_records_expires_idx").on(t.expiresAt),
	],
);

/**
 * Fencing tokens for runs of operations. One sequence for all operations, so a run that starts
 * later always holds a larger token than any run before it, of this operation or another on the
 * same resource: the data plane can refuse the effects of a superseded run by comparing numbers.
 */
export const operationFenceSeq = pgSequence("operation_fence_seq", { startWith: 1, minValue: 1 });

export type OperationStatus = "pending" | "running" | "succeeded" | "failed";

/**
 * Operations accepted and not yet ended: what the per-tenant cap counts and the partial indexes
 * below cover.
 */
export const OPEN_OPERATION_STATUSES = ["pending", "running"] as const;

/** Long-running work. The row is the source of truth for progress; the queue only carries it. */
export const operations = pgTable(
	"operations",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id"),
		kind: text("kind").notNull(),
		targetType: text("target_type").notNull(),
		targetId: uuid("target_id").notNull(),
		status: text("status", { enum: ["pending", "running", "succeeded", "failed"] })
			.notNull()
			.default("pending"),
		progress: smallint("progress").notNull().default(0),
		/** Saga bookkeeping: the steps done so far, so a re-driven job resumes instead of repeating. */
		state: jsonb("state").$type<Record<string, unknown>>().notNull().default({}),
		error: jsonb("error").$type<Record<string, unknown>>(),
		attempts: integer("attempts").notNull().default(0),
		/**
		 * The fencing token of the run that owns the operation (0 before the first run). A run takes
		 * a fresh one from `operation_fence_seq` when it starts; every write of a run names it, so a
		 * superseded run's writes match nothing.
		 */
		fence: bigint("fence", { mode: "number" }).notNull().default(sql`0`),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
		startedAt: tsColumn("started_at"),
		completedAt: tsColumn("completed_at"),
	},
	(t) => [
		index("operations_tenant_idx").on(t.tenantId, t.id),
		index("operations_target_idx").on(t.targetId),
		index("operations_open_idx").on(t.updatedAt).where(sql`${t.status} in ('pending', 'running')`),
		// The per-tenant operation cap counts a tenant's open operations on every write; without
		// this it walks the tenant's whole history.
		index("operations_tenant_open_idx").on(t.tenantId).where(sql`${t.status} in ('pending', 'running')`),
		check("operations_status_check", sql`${t.status} in ('pending', 'running', 'succeeded', 'failed')`),
		check("operations_progress_check", sql`${t.progress} between 0 and 100`),
	],
);

/**
 * Transactional outbox: written in the same transaction as the operation, moved into BullMQ by
 * the relay with `jobId` = operation id (or in a batch job with others of its queue, whose id is
 * then `job_id`), so a crash between commit and enqueue loses nothing.
 */
export const outbox = pgTable(
	"outbox",
	{
		id: bigserial("id", { mode: "number" }).primaryKey(),
		operationId: uuid("operation_id").notNull(),
		queue: text("queue").notNull(),
		jobName: text("job_name").notNull(),
		payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
		createdAt: createdAt(),
		availableAt: tsColumn("available_at").notNull().defaultNow(),
		relayedAt: tsColumn("relayed_at"),
		/** The BullMQ job the relay added the row as: the operation id, or the batch job carrying it. */
		jobId: text("job_id"),
		relayAttempts: integer("relay_attempts").notNull().default(0),
		lastError: text("last_error"),
	},
	(t) => [index("outbox_pending_idx").on(t.availableAt).where(sql`${t.relayedAt} is null`)],
);
