import {
	type App,
	contextOf,
	errorResponses,
	Jurisdiction,
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
import { zoneCreate, zoneDelete, zoneGet, zoneList } from "../app/zones";
import type { ComputeDeps } from "../deps";

const tags = ["zones"];

const ZoneSchema = resourceSchema(
	"Zone",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			jurisdiction: Type.String({ description: "ISO 3166-1 alpha-2 country whose law governs data in the zone." }),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a3b0-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
		name: "dakhla-1",
		jurisdiction: "MA",
		created_at: "2026-10-01T07:55:00Z",
	},
);

const ZoneCreateBody = namedSchema(
	"ZoneCreate",
	Type.Object({ name: Name("Unique zone name."), jurisdiction: Jurisdiction }, { additionalProperties: false }),
	{ name: "dakhla-1", jurisdiction: "MA" },
);

const ZoneParams = Type.Object({ zone_id: Uuid("Zone id.") }, { additionalProperties: false });

export async function zoneRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.post(
		"/v1/zones",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Create a zone",
				operationId: "zoneCreate",
				tags,
				body: ZoneCreateBody,
				response: { 201: ZoneSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await zoneCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/zones",
		{
			// Every role: tenants name a zone when they place an instance.
			config: { access: { role: "viewer" } },
			schema: {
				summary: "List zones",
				operationId: "zoneList",
				tags,
				querystring: ListQuery,
				response: { 200: Page(ZoneSchema) },
			},
		},
		async (request) => zoneList(contextOf(request, deps.db), pageRequest(request.query)),
	);

	app.get(
		"/v1/zones/:zone_id",
		{
			config: { access: { role: "viewer" } },
			schema: {
				summary: "Get a zone",
				operationId: "zoneGet",
				tags,
				params: ZoneParams,
				response: { 200: ZoneSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => zoneGet(contextOf(request, deps.db), request.params.zone_id),
	);

	app.delete(
		"/v1/zones/:zone_id",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Delete a zone that no host stands in",
				operationId: "zoneDelete",
				tags,
				params: ZoneParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request, reply) => {
			await zoneDelete(contextOf(request, deps.db), request.params.zone_id);
			return reply.code(204).send(null);
		},
	);
}
