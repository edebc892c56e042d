import { type App, contextOf, errorResponses, ListQuery, Page, pageRequest, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { siteCreate, siteGet, siteList } from "../app/sites";
import type { EnergyDeps } from "../deps";
import { SiteCreateSchema, SiteSchema } from "./schemas";

const tags = ["energy"];
export const SiteParams = Type.Object({ site_id: Uuid("Site id.") }, { additionalProperties: false });
/** Operators only: sites, meters and hosts are the platform's business. */
const access = { role: "operator" } as const;

export async function siteRoutes(app: App, deps: EnergyDeps): Promise<void> {
	app.post(
		"/v1/sites",
		{
			config: { access },
			schema: {
				summary: "Add a metered site",
				description: "A site's meter feeds the hosts of its zones; a zone belongs to one site only (409 conflict).",
				operationId: "siteCreate",
				tags,
				body: SiteCreateSchema,
				response: { 201: SiteSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await siteCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/sites",
		{
			config: { access },
			schema: {
				summary: "List sites",
				operationId: "siteList",
				tags,
				querystring: ListQuery,
				response: { 200: Page(SiteSchema) },
			},
		},
		async (request) => siteList(contextOf(request, deps.db), pageRequest(request.query)),
	);

	app.get(
		"/v1/sites/:site_id",
		{
			config: { access },
			schema: {
				summary: "Get a site",
				operationId: "siteGet",
				tags,
				params: SiteParams,
				response: { 200: SiteSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => siteGet(contextOf(request, deps.db), request.params.site_id),
	);
}
