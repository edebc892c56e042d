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
import { flavorCreate, flavorDelete, flavorGet, flavorList } from "../app/flavors";
import type { ComputeDeps } from "../deps";

const tags = ["flavors"];

const FlavorSchema = resourceSchema(
	"Flavor",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			vcpus: Type.Integer(),
			memory_mib: Type.Integer(),
			disk_gib: Type.Integer(),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a3c0-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
		name: "c2-m4",
		vcpus: 2,
		memory_mib: 4096,
		disk_gib: 40,
		created_at: "2026-10-01T08:00:00Z",
	},
);

/** Bounded well below int4 so that sums over a host's instances cannot overflow its counters. */
const FlavorCreateBody = namedSchema(
	"FlavorCreate",
	Type.Object(
		{
			name: Name("Unique flavor name."),
			vcpus: Type.Integer({ minimum: 1, maximum: 1024 }),
			memory_mib: Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024 }),
			disk_gib: Type.Integer({ minimum: 0, maximum: 1024 * 1024 }),
		},
		{ additionalProperties: false },
	),
	{ name: "c2-m4", vcpus: 2, memory_mib: 4096, disk_gib: 40 },
);

const FlavorParams = Type.Object({ flavor_id: Uuid("Flavor id.") }, { additionalProperties: false });

export async function flavorRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.post(
		"/v1/flavors",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Create a flavor",
				operationId: "flavorCreate",
				tags,
				body: FlavorCreateBody,
				response: { 201: FlavorSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await flavorCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/flavors",
		{
			// Every role: tenants choose a flavor when they create an instance.
			config: { access: { role: "viewer" } },
			schema: {
				summary: "List flavors",
				operationId: "flavorList",
				tags,
				querystring: ListQuery,
				response: { 200: Page(FlavorSchema) },
			},
		},
		async (request) => flavorList(contextOf(request, deps.db), pageRequest(request.query)),
	);

	app.get(
		"/v1/flavors/:flavor_id",
		{
			config: { access: { role: "viewer" } },
			schema: {
				summary: "Get a flavor",
				operationId: "flavorGet",
				tags,
				params: FlavorParams,
				response: { 200: FlavorSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => flavorGet(contextOf(request, deps.db), request.params.flavor_id),
	);

	app.delete(
		"/v1/flavors/:flavor_id",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Delete a flavor that no instance uses",
				operationId: "flavorDelete",
				tags,
				params: FlavorParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request, reply) => {
			await flavorDelete(contextOf(request, deps.db), request.params.flavor_id);
			return reply.code(204).send(null);
		},
	);
}
