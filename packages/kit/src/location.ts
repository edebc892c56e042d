import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * `Location` on the answers that make something to look at (RFC 9110 10.2.2), by one rule for
 * every route so no create forgets it and the spec can say exactly where it is sent:
 *
 * - 201 from `POST <collection>` where `GET <collection>/{id}` exists: the new resource.
 * - 202 carrying an `operation` on a tenant path (an action or a delete): the operation to poll.
 *
 * The path is relative to the API root, as the request's own path is.
 */

/** A mounted route, as the kit records them. */
interface MountedRoute {
	method: string;
	url: string;
}

const TENANT_OPERATIONS = "/v1/tenants/:tenant_id/operations";

/** The collection URLs that have an item GET below them (`/v1/zones` for `/v1/zones/:zone_id`). */
function collectionsWithItems(routes: readonly MountedRoute[]): Set<string> {
	const out = new Set<string>();
	for (const route of routes) {
		const collection = route.method === "GET" ? /^(.*)\/:[A-Za-z_]+$/.exec(route.url)?.[1] : undefined;
		if (collection) out.add(collection);
	}
	return out;
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

/** Builds the onSend step; the route list is read on the first answer, when every route is mounted. */
export function locationHeaders(routes: readonly MountedRoute[]) {
	let collections: Set<string> | undefined;
	return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
		const status = reply.statusCode;
		if (status !== 201 && status !== 202) return payload;
		collections ??= collectionsWithItems(routes);
		const path = request.url.split("?")[0]?.replace(/\/+$/, "") ?? "";
		if (status === 201 && request.method === "POST" && collections.has(request.routeOptions.url ?? "")) {
			const id = idOf(parsed(payload));
			if (id) reply.header("location", `${path}/${encodeURIComponent(id)}`);
		}
		const tenantId = (request.params as { tenant_id?: unknown } | undefined)?.tenant_id;
		if (status === 202 && typeof tenantId === "string" && collections.has(TENANT_OPERATIONS)) {
			const id = idOf((parsed(payload) as { operation?: unknown } | undefined)?.operation);
			if (id)
				reply.header("location", `/v1/tenants/${encodeURIComponent(tenantId)}/operations/${encodeURIComponent(id)}`);
		}
		return payload;
	};
}
