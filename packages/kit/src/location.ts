import type { FastifyReply, FastifyRequest } from "fastify";
import { schemaName } from "./schemas";

/**
 * `Location` on the answers that make something to look at (RFC 9110 10.2.2), by one rule for
 * every route so no create forgets it and the spec can say exactly where it is sent:
 *
 * - 201 from `POST <collection>` where `GET <collection>/{id}` exists: the new resource.
 * - 202: the first thing its body carries, the `operation` before the others (`run`, `volume`),
 *   whose named schema an item GET answers with its 200 and which the request can address: that
 *   GET's path parameters but the last are the request's own, the last is the carried id. A
 *   tenant's operation is addressable from any tenant path; an operator's invoice run has no
 *   tenant, so its operation is not, and the run (which shows its operation) is what to poll.
 *
 * The 202 rule reads the named schemas the route already declares, not a per-route setting: a new
 * 202 gets its `Location` without anyone remembering to ask, and the spec (`addLocation`) can
 * follow the same rule from the document alone.
 *
 * The path is relative to the API root, as the request's own path is.
 */

/** A mounted route, as the kit records them. */
interface MountedRoute {
	method: string;
	url: string;
	/** GET: the named schema its 200 answers. */
	answers?: string;
}

/** The collection URLs that have an item GET below them (`/v1/zones` for `/v1/zones/:zone_id`). */
function collectionsWithItems(routes: readonly MountedRoute[]): Set<string> {
	const out = new Set<string>();
	for (const route of routes) {
		const collection = route.method === "GET" ? /^(.*)\/:[A-Za-z_]+$/.exec(route.url)?.[1] : undefined;
		if (collection) out.add(collection);
	}
	return out;
}

/**
 * The item GET answering each named schema (`InvoiceRun` → `/v1/invoice-runs/:run_id`). A schema
 * two item GETs answer is left out: which one to name would be a guess.
 */
function itemsByResource(routes: readonly MountedRoute[]): Map<string, string> {
	const seen = new Map<string, string | null>();
	for (const route of routes) {
		if (route.method !== "GET" || !route.answers || !/\/:[A-Za-z_]+$/.test(route.url)) continue;
		seen.set(route.answers, seen.has(route.answers) ? null : route.url);
	}
	const out = new Map<string, string>();
	for (const [name, url] of seen) if (url) out.set(name, url);
	return out;
}

/** A 202 body's top-level properties in the order the rule tries them: `operation` first. */
function operationFirst(keys: string[]): string[] {
	return [...keys].sort((a, b) => Number(b === "operation") - Number(a === "operation"));
}

/** The top-level properties of a 202's body in that order, with the schema name of each. */
function carriedResources(properties: Record<string, unknown>): { key: string; name: string }[] {
	const out: { key: string; name: string }[] = [];
	for (const key of operationFirst(Object.keys(properties))) {
		const name = schemaName(properties[key]);
		if (name) out.push({ key, name });
	}
	return out;
}

/** `template` with its last parameter `id` and the others from `params`; undefined if one is missing. */
function filled(template: string, params: Record<string, unknown>, id: string): string | undefined {
	const segments = template.split("/");
	const out: string[] = [];
	for (const [index, segment] of segments.entries()) {
		if (!segment.startsWith(":")) {
			out.push(segment);
			continue;
		}
		const value = index === segments.length - 1 ? id : params[segment.slice(1)];
		if (typeof value !== "string") return undefined;
		out.push(encodeURIComponent(value));
	}
	return out.join("/");
}

function idOf(value: unknown): string | undefined {
	const id = (value as { id?: unknown } | null | undefined)?.id;
	return typeof id === "string" ? id : undefined;
}

function parsed(payload: unknown): unknown {
	if (typeof payload !== "string") return undefined;
	try {
		return JSON.parse(payload);
	} catch {
		return undefined;
	}
}

/** The properties of a route's declared 202 body, if it declares one. */
function acceptedProperties(request: FastifyRequest): Record<string, unknown> | undefined {
	const response = request.routeOptions.schema?.response as Record<string, unknown> | undefined;
	const accepted = response?.["202"] as { properties?: unknown } | undefined;
	const properties = accepted?.properties;
	return properties && typeof properties === "object" ? (properties as Record<string, unknown>) : undefined;
}

/** Builds the onSend step; the route list is read on the first answer, when every route is mounted. */
export function locationHeaders(routes: readonly MountedRoute[]) {
	let collections: Set<string> | undefined;
	let items: Map<string, string> | undefined;
	return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
		const status = reply.statusCode;
		if (status !== 201 && status !== 202) return payload;
		collections ??= collectionsWithItems(routes);
		items ??= itemsByResource(routes);
		const path = request.url.split("?")[0]?.replace(/\/+$/, "") ?? "";
		if (status === 201 && request.method === "POST" && collections.has(request.routeOptions.url ?? "")) {
			const id = idOf(parsed(payload));
			if (id) reply.header("location", `${path}/${encodeURIComponent(id)}`);
		}
		const properties = status === 202 ? acceptedProperties(request) : undefined;
		if (properties) {
			const body = parsed(payload) as Record<string, unknown> | undefined;
			const params = (request.params ?? {}) as Record<string, unknown>;
			for (const { key, name } of carriedResources(properties)) {
				const template = items.get(name);
				const id = idOf(body?.[key]);
				const location = template && id ? filled(template, params, id) : undefined;
				if (location) {
					reply.header("location", location);
					break;
				}
			}
		}
		return payload;
	};
}
