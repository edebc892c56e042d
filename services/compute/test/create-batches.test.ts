import { randomBytes } from "node:crypto";
import { auditEvents, type Db, instances, operations, outbox } from "@igoudar/db";
import { type Ctx, ProblemError } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { InstanceCreates } from "../src/app/instance-creates";
import type { CreatedInstance } from "../src/app/instances";
import { setPlacementSettings } from "../src/db/settings";
import { hostUsage, liveUsage, makeFlavor, makeHost, makeZone, quotaUsed, setQuota } from "./fixtures";

/**
 * The group-committed create path (InstanceCreates) on the real database: creates submitted
 * together go in one transaction, and whatever one create alone would be refused or answered,
 * it still is.
 */
let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

function creates(cap = 100): InstanceCreates {
	return new InstanceCreates({ db, afterCommit: () => {}, maxOpenOperationsPerTenant: cap });
}

async function ctxFor(tenantId: string): Promise<Ctx> {
	const account = await t.principal(tenantId, "member");
	return {
		actor: {
			id: account.id,
			clientId: account.clientId,
			role: "member",
			tenantId,
			tenantStatus: "active",
			tokenId: "test",
		},
		log: t.app.log,
		requestId: `req-${randomBytes(6).toString("hex")}`,
		sourceAddress: "192.0.2.7",
		db,
		idempotency: null,
	};
}

/** Submits every create in one tick (so they share batches) and settles each on its own. */
function submitTogether(
	path: InstanceCreates,
	requests: { ctx: Ctx; tenantId: string; input: { name: string; flavor: string; zone?: string } }[],
) {
	return Promise.allSettled(requests.map((r) => path.create(r.ctx, r.tenantId, r.input)));
}

function codeOf(outcome: PromiseSettledResult<CreatedInstance>): string {
	if (outcome.status === "fulfilled") return "accepted";
	return outcome.reason instanceof ProblemError ? outcome.reason.code : String(outcome.reason);
}

describe("group-committed instance creates", () => {
	it("commits creates submitted together in fewer transactions, each with its operation, outbox row and audit event", async () => {
		const zone = await makeZone(db);
		const hostIds: string[] = [];
		for (let i = 0; i < 6; i++) hostIds.push((await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 })).id);
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
		const tenants = await Promise.all([t.createTenant(), t.createTenant(), t.createTenant()]);
		for (const tenant of tenants) await setQuota(db, tenant.id, { instances: 50, vcpus: 1000, memory_mib: 1_000_000 });
		const ctxs = await Promise.all(tenants.map((tenant) => ctxFor(tenant.id)));
		const path = creates();

		const requests = Array.from({ length: 60 }, (_, i) => ({
			ctx: ctxs[i % 3] as Ctx,
			tenantId: (tenants[i % 3] as { id: string }).id,
			input: { name: `vm-${i}`, flavor: flavor.name, zone: zone.name },
		}));
		const outcomes = await submitTogether(path, requests);
		expect(outcomes.map(codeOf)).toEqual(requests.map(() => "accepted"));
		expect(path.stats.batches).toBeLessThan(10);

		const created = outcomes.map((o) => (o as PromiseFulfilledResult<CreatedInstance>).value);
		const ids = created.map((c) => c.instance.id);
		expect(new Set(ids).size).toBe(60);
		const rows = await db.select().from(instances).where(inArray(instances.id, ids));
		const ops = await db.select().from(operations).where(inArray(operations.targetId, ids));
		const queued = await db
			.select()
			.from(outbox)
			.where(
				inArray(
					outbox.operationId,
					ops.map((o) => o.id),
				),
			);
		const audited = await db.select().from(auditEvents).where(inArray(auditEvents.targetId, ids));
		expect(rows).toHaveLength(60);
		expect(ops).toHaveLength(60);
		expect(queued).toHaveLength(60);
		expect(audited).toHaveLength(60);
		for (const [i, c] of created.entries()) {
			const request = requests[i] as (typeof requests)[number];
			const row = rows.find((r) => r.id === c.instance.id);
			expect(row).toMatchObject({ tenantId: request.tenantId, name: request.input.name, status: "provisioning" });
			expect(c.instance).toMatchObject({ name: request.input.name, flavor: flavor.name, zone: zone.name });
			expect(c.operation).toMatchObject({ kind: "instance.create", status: "pending" });
			expect(ops.find((o) => o.id === c.operation.id)?.targetId).toBe(c.instance.id);
			// Each create's audit event carries its own request's id and principal.
			const event = audited.find((a) => a.targetId === c.instance.id);
			expect(event).toMatchObject({ requestId: request.ctx.requestId, actorId: request.ctx.actor.id });
		}
		for (const tenant of tenants) {
			const used = await quotaUsed(db, tenant.id);
			expect(used.instances).toBe(20);
			expect(used.vcpus).toBe(40);
			expect((await liveUsage(db, tenant.id)).instances).toBe(20);
		}
		let hostVcpus = 0;
		let hostInstances = 0;
		for (const id of hostIds) {
			const host = await hostUsage(db, id);
			hostVcpus += host?.vcpusUsed ?? 0;
			hostInstances += host?.instanceCount ?? 0;
		}
		expect(hostVcpus).toBe(120);
		expect(hostInstances).toBe(60);
	});

	it("answers each create of a batch as it would be answered alone, and leaks nothing", async () => {
		const zone = await makeZone(db);
		await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 1024 });
		const roomy = await t.createTenant();
		const tight = await t.createTenant();
		await setQuota(db, tight.id, { instances: 2, vcpus: 1000, memory_mib: 1_000_000 });
		const [roomyCtx, tightCtx] = await Promise.all([ctxFor(roomy.id), ctxFor(tight.id)]);
		const path = creates();

		const requests = [
			...Array.from({ length: 8 }, (_, i) => ({
				ctx: roomyCtx,
				tenantId: roomy.id,
				input: { name: `ok-${i}`, flavor: flavor.name },
			})),
			{ ctx: roomyCtx, tenantId: roomy.id, input: { name: "ok-0", flavor: flavor.name } },
			{ ctx: roomyCtx, tenantId: roomy.id, input: { name: "no-flavor", flavor: "no-such-flavor" } },
			{ ctx: roomyCtx, tenantId: roomy.id, input: { name: "no-zone", flavor: flavor.name, zone: "no-such-zone" } },
			...Array.from({ length: 5 }, (_, i) => ({
				ctx: tightCtx as Ctx,
				tenantId: tight.id,
				input: { name: `tight-${i}`, flavor: flavor.name },
			})),
		];
		const codes = (await submitTogether(path, requests as typeof requests)).map(codeOf);
		const tally = (list: string[]) => {
			const counts: Record<string, number> = {};
			for (const code of list) counts[code] = (counts[code] ?? 0) + 1;
			return counts;
		};
		// Two creates named ok-0: exactly one of them wins.
		expect(tally(codes.slice(0, 9))).toEqual({ accepted: 8, conflict: 1 });
		expect(codes.slice(9, 11)).toEqual(["validation_failed", "validation_failed"]);
		expect(tally(codes.slice(11))).toEqual({ accepted: 2, quota_exceeded: 3 });

		expect(await quotaUsed(db, roomy.id)).toMatchObject({ instances: 8, vcpus: 8, memory_mib: 8192 });
		expect(await quotaUsed(db, tight.id)).toMatchObject({ instances: 2, vcpus: 2, memory_mib: 2048 });
		expect((await liveUsage(db, roomy.id)).instances).toBe(8);
		expect((await liveUsage(db, tight.id)).instances).toBe(2);
		const open = await db
			.select()
			.from(operations)
			.where(inArray(operations.tenantId, [roomy.id, tight.id]));
		expect(open).toHaveLength(10);
	});

	it("tries a batch again without the creates that need their own answer, so one tenant past its quota slows no one", async () => {
		const zone = await makeZone(db);
		await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 1024 });
		const [roomy, tight] = await Promise.all([t.createTenant(), t.createTenant()]);
		await setQuota(db, tight.id, { instances: 2, vcpus: 1000, memory_mib: 1_000_000 });
		const [roomyCtx, tightCtx] = await Promise.all([ctxFor(roomy.id), ctxFor(tight.id)]);
		const path = creates();
		// Interleaved, as the tenants' requests would arrive.
		const requests = Array.from({ length: 8 }, (_, i) => [
			{ ctx: roomyCtx, tenantId: roomy.id, input: { name: `fine-${i}`, flavor: flavor.name } },
			{ ctx: tightCtx, tenantId: tight.id, input: { name: `over-${i}`, flavor: flavor.name } },
		]).flat();
		requests.push({ ctx: roomyCtx, tenantId: roomy.id, input: { name: "typo", flavor: "no-such-flavor" } });

		const codes = (await submitTogether(path, requests)).map(codeOf);
		expect(codes.filter((_, i) => i < 16 && i % 2 === 0)).toEqual(Array(8).fill("accepted"));
		const tightCodes = codes.filter((_, i) => i % 2 === 1);
		expect(tightCodes.filter((c) => c === "accepted")).toHaveLength(2);
		expect(tightCodes.filter((c) => c === "quota_exceeded")).toHaveLength(6);
		expect(codes[16]).toBe("validation_failed");
		// The roomy tenant's creates still went in one transaction, after the others left the batch.
		expect(path.stats.batches).toBe(1);
		expect(path.stats.committedTogether).toBe(8);
		expect(await quotaUsed(db, roomy.id)).toMatchObject({ instances: 8, vcpus: 8, memory_mib: 8192 });
		expect(await quotaUsed(db, tight.id)).toMatchObject({ instances: 2, vcpus: 2, memory_mib: 2048 });
		expect((await liveUsage(db, tight.id)).instances).toBe(2);
	});

	it("keeps the cap of open operations exact across batches", async () => {
		const zone = await makeZone(db);
		await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const tenant = await t.createTenant();
		const ctx = await ctxFor(tenant.id);
		const path = creates(7);
		const requests = Array.from({ length: 30 }, (_, i) => ({
			ctx,
			tenantId: tenant.id,
			input: { name: `capped-${i}`, flavor: flavor.name },
		}));
		const codes = (await submitTogether(path, requests)).map(codeOf);
		expect(codes.filter((c) => c === "accepted")).toHaveLength(7);
		expect(codes.filter((c) => c === "rate_limited")).toHaveLength(23);
		expect((await quotaUsed(db, tenant.id)).instances).toBe(7);
	});

	it("places a batch where successive creates would go: spread one a host, pack on the fullest", async () => {
		const zone = await makeZone(db);
		const hostIds: string[] = [];
		for (let i = 0; i < 4; i++) hostIds.push((await makeHost(db, zone.id, { vcpus: 8, memoryMib: 8192 })).id);
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
		const tenant = await t.createTenant();
		const ctx = await ctxFor(tenant.id);
		const batch = (prefix: string, count: number) =>
			Array.from({ length: count }, (_, i) => ({
				ctx,
				tenantId: tenant.id,
				input: { name: `${prefix}-${i}`, flavor: flavor.name, zone: zone.name },
			}));
		const hostsOf = async (outcomes: PromiseSettledResult<CreatedInstance>[]) => {
			expect(outcomes.map(codeOf).every((c) => c === "accepted")).toBe(true);
			const ids = outcomes.map((o) => (o as PromiseFulfilledResult<CreatedInstance>).value.instance.id);
			const rows = await db.select({ hostId: instances.hostId }).from(instances).where(inArray(instances.id, ids));
			return rows.map((r) => r.hostId);
		};

		const spread = creates();
		const spreadHosts = await hostsOf(await submitTogether(spread, batch("spread", 4)));
		expect(spread.stats.batches).toBe(1);
		expect(new Set(spreadHosts).size).toBe(4);

		try {
			await setPlacementSettings(db, { strategy: "pack" });
			const pack = creates();
			const packHosts = await hostsOf(await submitTogether(pack, batch("pack", 4)));
			expect(pack.stats.batches).toBe(1);
			// Every host holds 2 of 8 vcpus: pack fills one of them (6 free: 3 more) and then the next.
			const perHost = new Map<string | null, number>();
			for (const host of packHosts) perHost.set(host, (perHost.get(host) ?? 0) + 1);
			expect([...perHost.values()].sort()).toEqual([1, 3]);
		} finally {
			await setPlacementSettings(db, { strategy: "spread" });
		}
		for (const id of hostIds) {
			const host = await hostUsage(db, id);
			const n = (await db.select({ id: instances.id }).from(instances).where(eq(instances.hostId, id))).length;
			expect(host?.instanceCount).toBe(n);
			expect(host?.vcpusUsed).toBe(n * 2);
		}
	});
});
