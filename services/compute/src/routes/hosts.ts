import {
	type App,
	contextOf,
	errorResponses,
	ListQuery,
	Name,
	Nullable,
	namedSchema,
	Page,
	pageRequest,
	resourceSchema,
	Timestamp,
	Uuid,
} from "@igoudar/kit";
import { Type } from "typebox";
import { hostCreate, hostDelete, hostGet, hostList, hostUpdate } from "../app/hosts";
import type { ComputeDeps } from "../deps";

const tags = ["hosts"];

const Status = Type.Union([Type.Literal("enabled"), Type.Literal("disabled")], {
	description: "Disabled hosts keep their instances but receive no new ones.",
});
/**
 * Bounds keep every counter inside Postgres `integer` even at the largest ratio: capacity after
 * ratios plus the largest flavor must never overflow a claim's arithmetic.
 */
const Count = (description: string, maximum: number, minimum = 1) => Type.Integer({ minimum, maximum, description });
const Ratio = (description: string) => Type.Number({ exclusiveMinimum: 0, maximum: 100, description });
const Watts = (description: string) => Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000, description }));
const EmbodiedKg = Nullable(
	Type.Integer({
		minimum: 0,
		maximum: 1_000_000,
		description: "Carbon of making the machine, kg CO2e; the energy ledger spreads it over its lifetime.",
	}),
);
const LifetimeYears = Nullable(
	Type.Integer({ minimum: 1, maximum: 50, description: "Service life the embodied carbon is spread over, in years." }),
);

const Resources = Type.Object(
	{ vcpus: Type.Integer(), memory_mib: Type.Integer(), disk_gib: Type.Integer() },
	{ additionalProperties: false },
);

const HostSchema = resourceSchema(
	"Host",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			zone: Type.String({ description: "Zone name." }),
			status: Status,
			vcpus: Type.Integer({ description: "Physical cores (or threads) of the machine." }),
			memory_mib: Type.Integer(),
			disk_gib: Type.Integer(),
			cpu_allocation_ratio: Type.Number(),
			memory_allocation_ratio: Type.Number(),
			power_idle_w: Nullable(Type.Integer()),
			power_max_w: Nullable(Type.Integer()),
			estimated_power_w: Nullable(
				Type.Integer({
					description: "Estimated draw now: idle plus the dynamic range in proportion to the cores allocated.",
				}),
			),
			embodied_kgco2e: EmbodiedKg,
			lifetime_years: LifetimeYears,
			capacity: Type.Object(Resources.properties, {
				additionalProperties: false,
				description: "What placement may allocate: the machine after allocation ratios, rounded down.",
			}),
			allocated: Type.Object(
				{ ...Resources.properties, instances: Type.Integer() },
				{ additionalProperties: false, description: "What live instances hold on this host." },
			),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a3c8-3c4d-7e5f-8a60-7b8c9d0e1f2a",
		name: "dkh1-r04-h12",
		zone: "dakhla-1",
		status: "enabled",
		vcpus: 64,
		memory_mib: 524288,
		disk_gib: 3840,
		cpu_allocation_ratio: 4,
		memory_allocation_ratio: 1,
		power_idle_w: 180,
		power_max_w: 620,
		estimated_power_w: 207,
		embodied_kgco2e: 1450,
		lifetime_years: 5,
		capacity: { vcpus: 256, memory_mib: 524288, disk_gib: 3840 },
		allocated: { vcpus: 16, memory_mib: 32768, disk_gib: 320, instances: 8 },
		created_at: "2026-10-01T08:05:00Z",
		updated_at: "2026-11-21T10:02:04Z",
	},
);

const HostCreateBody = namedSchema(
	"HostCreate",
	Type.Object(
		{
			name: Name("Unique host name."),
			zone: Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." }),
			vcpus: Count("Physical vCPUs.", 65_536),
			memory_mib: Count("Physical memory in MiB (up to 16 TiB).", 16 * 1024 * 1024),
			disk_gib: Count("Local disk in GiB.", 1_000_000_000, 0),
			cpu_allocation_ratio: Type.Optional(Ratio("vCPU overcommit; default 4.")),
			memory_allocation_ratio: Type.Optional(Ratio("Memory overcommit; default 1.")),
			power_idle_w: Type.Optional(Watts("Draw when idle, in watts.")),
			power_max_w: Type.Optional(Watts("Draw at full load, in watts; at least power_idle_w.")),
			embodied_kgco2e: Type.Optional(EmbodiedKg),
			lifetime_years: Type.Optional(LifetimeYears),
		},
		{ additionalProperties: false },
	),
	{
		name: "dkh1-r04-h12",
		zone: "dakhla-1",
		vcpus: 64,
		memory_mib: 524288,
		disk_gib: 3840,
		cpu_allocation_ratio: 4,
		power_idle_w: 180,
		power_max_w: 620,
		embodied_kgco2e: 1450,
		lifetime_years: 5,
	},
);

const HostUpdateBody = namedSchema(
	"HostUpdate",
	Type.Object(
		{
			status: Type.Optional(Status),
			cpu_allocation_ratio: Type.Optional(Ratio("May not leave less vCPU capacity than is allocated.")),
			memory_allocation_ratio: Type.Optional(Ratio("May not leave less memory capacity than is allocated.")),
			power_idle_w: Type.Optional(Watts("Draw when idle, in watts.")),
			power_max_w: Type.Optional(Watts("Draw at full load, in watts; at least power_idle_w.")),
			embodied_kgco2e: Type.Optional(EmbodiedKg),
			lifetime_years: Type.Optional(LifetimeYears),
		},
		{ additionalProperties: false, minProperties: 1 },
	),
	{ status: "disabled" },
);

const HostQuery = Type.Object(
	{
		...ListQuery.properties,
		zone: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." })),
		status: Type.Optional(Status),
	},
	{ additionalProperties: false },
);

const HostParams = Type.Object({ host_id: Uuid("Host id.") }, { additionalProperties: false });

/** Operators only: hosts are the platform's business, never a tenant's. */
const access = { role: "operator" } as const;

export async function hostRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.post(
		"/v1/hosts",
		{
			config: { access },
			schema: {
				summary: "Add a host",
				operationId: "hostCreate",
				tags,
				body: HostCreateBody,
				response: { 201: HostSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await hostCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/hosts",
		{
			config: { access },
			schema: {
				summary: "List hosts with their capacity and allocation",
				operationId: "hostList",
				tags,
				querystring: HostQuery,
				response: { 200: Page(HostSchema) },
			},
		},
		async (request) => {
			const { zone, status } = request.query;
			return hostList(contextOf(request, deps.db), pageRequest(request.query), { zone, status });
		},
	);

	app.get(
		"/v1/hosts/:host_id",
		{
			config: { access },
			schema: {
				summary: "Get a host",
				operationId: "hostGet",
				tags,
				params: HostParams,
				response: { 200: HostSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => hostGet(contextOf(request, deps.db), request.params.host_id),
	);

	app.patch(
		"/v1/hosts/:host_id",
		{
			config: { access },
			schema: {
				summary: "Enable or disable a host, or change its ratios and power figures",
				description: "A ratio may not leave less capacity than is already allocated (409 conflict).",
				operationId: "hostUpdate",
				tags,
				params: HostParams,
				body: HostUpdateBody,
				response: { 200: HostSchema, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request) => hostUpdate(contextOf(request, deps.db), request.params.host_id, request.body),
	);

	app.delete(
		"/v1/hosts/:host_id",
		{
			config: { access },
			schema: {
				summary: "Remove a host that holds no instances",
				operationId: "hostDelete",
				tags,
				params: HostParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request, reply) => {
			await hostDelete(contextOf(request, deps.db), request.params.host_id);
			return reply.code(204).send(null);
		},
	);
}
