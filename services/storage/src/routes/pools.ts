import { STORAGE_DRIVERS } from "@igoudar/db";
import {
	type App,
	contextOf,
	errorResponses,
	ListQuery,
	Name,
	namedSchema,
	Page,
	pageRequest,
	resourceSchema,
	Timestamp,
	Uuid,
} from "@igoudar/kit";
import { Type } from "typebox";
import { poolCreate, poolDelete, poolGet, poolList, poolUpdate } from "../app/pools";
import type { StorageDeps } from "../deps";
import { StorageClass } from "./volume-schemas";

const tags = ["storage-pools"];

const Status = Type.Union([Type.Literal("enabled"), Type.Literal("disabled")], {
	description: "A disabled pool keeps its volumes and snapshots (they may still grow) but takes no new ones.",
});
const Driver = (description: string) =>
	Type.Unsafe<(typeof STORAGE_DRIVERS)[number]>({ type: "string", enum: [...STORAGE_DRIVERS], description });
const DRIVER_MEANING = "Data-plane driver: `simulated` (no real data, for tests and demos) or `local` (sparse files)";
/**
 * Bounds keep every counter inside Postgres `integer` at the largest ratio: capacity after
 * overcommit plus the largest volume must never overflow a claim's arithmetic.
 */
const CapacityGib = Type.Integer({ minimum: 1, maximum: 100_000_000, description: "Raw capacity in GiB." });
const Overcommit = Type.Number({
	minimum: 1,
	maximum: 16,
	description: "Thin-provisioning factor: up to capacity_gib times this may be allocated. 1 means none.",
});

const PoolSchema = resourceSchema(
	"StoragePool",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			zone: Type.String({ description: "Zone name." }),
			storage_class: Type.String(),
			driver: Driver(`${DRIVER_MEANING}.`),
			status: Status,
			capacity_gib: Type.Integer(),
			overcommit_ratio: Type.Number(),
			allocated_gib: Type.Integer({ description: "What live volumes and snapshots on the pool hold." }),
			free_gib: Type.Integer({
				description:
					"What may still be allocated: capacity_gib times overcommit_ratio, rounded down, less allocated_gib.",
			}),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a3d0-2b3c-7d4e-8f50-6a7b8c9d0e1f",
		name: "dakhla-1-ssd-a",
		zone: "dakhla-1",
		storage_class: "ssd",
		driver: "local",
		status: "enabled",
		capacity_gib: 20000,
		overcommit_ratio: 1.5,
		allocated_gib: 4200,
		free_gib: 25800,
		created_at: "2026-10-01T08:10:00Z",
		updated_at: "2026-11-22T02:03:30Z",
	},
);

const PoolCreateBody = namedSchema(
	"StoragePoolCreate",
	Type.Object(
		{
			name: Name("Unique pool name."),
			zone: Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." }),
			capacity_gib: CapacityGib,
			storage_class: StorageClass(),
			driver: Type.Optional(Driver(`${DRIVER_MEANING}; default simulated.`)),
			overcommit_ratio: Type.Optional(Overcommit),
		},
		{ additionalProperties: false },
	),
	{
		name: "dakhla-1-ssd-a",
		zone: "dakhla-1",
		capacity_gib: 20000,
		storage_class: "ssd",
		driver: "local",
		overcommit_ratio: 1.5,
	},
);

const PoolUpdateBody = namedSchema(
	"StoragePoolUpdate",
	Type.Object(
		{
			status: Type.Optional(Status),
			capacity_gib: Type.Optional(CapacityGib),
			overcommit_ratio: Type.Optional(Overcommit),
		},
		{ additionalProperties: false, minProperties: 1 },
	),
	{ status: "disabled" },
);

const PoolQuery = Type.Object(
	{
		...ListQuery.properties,
		zone: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." })),
		storage_class: Type.Optional(StorageClass()),
		status: Type.Optional(Status),
	},
	{ additionalProperties: false },
);

const PoolParams = Type.Object({ pool_id: Uuid("Storage pool id.") }, { additionalProperties: false });

/** Operators only: pools are the platform's business; tenants choose a zone and a class. */
const access = { role: "operator" } as const;

export async function poolRoutes(app: App, deps: StorageDeps): Promise<void> {
	app.post(
		"/v1/storage-pools",
		{
			config: { access },
			schema: {
				summary: "Add a storage pool",
				operationId: "storagePoolCreate",
				tags,
				body: PoolCreateBody,
				response: { 201: PoolSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await poolCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/storage-pools",
		{
			config: { access },
			schema: {
				summary: "List storage pools with their capacity and allocation",
				operationId: "storagePoolList",
				tags,
				querystring: PoolQuery,
				response: { 200: Page(PoolSchema) },
			},
		},
		async (request) => {
			const { zone, storage_class, status } = request.query;
			return poolList(contextOf(request, deps.db), pageRequest(request.query), { zone, storage_class, status });
		},
	);

	app.get(
		"/v1/storage-pools/:pool_id",
		{
			config: { access },
			schema: {
				summary: "Get a storage pool",
				operationId: "storagePoolGet",
				tags,
				params: PoolParams,
				response: { 200: PoolSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => poolGet(contextOf(request, deps.db), request.params.pool_id),
	);

	app.patch(
		"/v1/storage-pools/:pool_id",
		{
			config: { access },
			schema: {
				summary: "Enable or disable a storage pool, or change its capacity or overcommit",
				description:
					"Capacity and overcommit may not leave less room than is allocated (409 conflict); disabling " +
					"stops new volumes and snapshots on the pool, not the growth of those already there.",
				operationId: "storagePoolUpdate",
				tags,
				params: PoolParams,
				body: PoolUpdateBody,
				response: { 200: PoolSchema, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request) => poolUpdate(contextOf(request, deps.db), request.params.pool_id, request.body),
	);

	app.delete(
		"/v1/storage-pools/:pool_id",
		{
			config: { access },
			schema: {
				summary: "Remove a storage pool that holds no volumes or snapshots",
				operationId: "storagePoolDelete",
				tags,
				params: PoolParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request, reply) => {
			await poolDelete(contextOf(request, deps.db), request.params.pool_id);
			return reply.code(204).send(null);
		},
	);
}
