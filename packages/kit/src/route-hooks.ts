import type { RouteOptions } from "fastify";

type RouteHookName = "preValidation" | "preHandler" | "onSend";

/**
 * Adds `hook` to one route's own hooks (from an onRoute hook), after any it has. For a step only
 * some routes need: a global hook runs, and costs its call, on every request of every route.
 */
export function appendRouteHook<Name extends RouteHookName>(
	route: RouteOptions,
	name: Name,
	hook: NonNullable<RouteOptions[Name]> extends infer H ? (H extends readonly (infer F)[] ? F : H) : never,
): void {
	const existing = route[name] as unknown;
	const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
	(route as unknown as Record<string, unknown>)[name] = [...list, hook];
}
