import { auditEvents, type Db } from "@igoudar/db";
import type { RouteRecord } from "@igoudar/kit";
import type { InjectResult, TestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";

/** One call of a write route that must succeed: where, what, and with which token (none: public). */
export interface WriteCall {
	url: string;
	body?: unknown;
	token?: string;
}
/** Makes what the call needs (a fresh resource to delete, an instance in the right status), then names the call. */
export type Recipe = () => Promise<WriteCall>;
export type Send = (method: string, call: WriteCall) => Promise<InjectResult<unknown>>;

export interface CoverageReport {
	checked: string[];
	/** Write routes nobody has said how to call: a new route must come with its recipe. */
	withoutRecipe: string[];
	/** Calls that did not succeed prove nothing about the trail. */
	unsuccessful: string[];
	/** Successful writes with no audit event under their request id, or one that lacks who or from where. */
	unaudited: string[];
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
export const isWriteRoute = (route: RouteRecord) => WRITE_METHODS.has(route.method);
export const routeLabel = (route: RouteRecord) => `${route.method} ${route.url}`;

/**
 * Calls every write route once, successfully, and looks its request id up in the audit trail.
 * Generated from the route table: a write route added later is checked without anyone remembering.
 */
export async function auditCoverage(
	db: Db,
	routes: RouteRecord[],
	recipes: Record<string, Recipe>,
	send: Send,
): Promise<CoverageReport> {
	const report: CoverageReport = { checked: [], withoutRecipe: [], unsuccessful: [], unaudited: [] };
	for (const route of routes.filter(isWriteRoute)) {
		const label = routeLabel(route);
		const recipe = recipes[label];
		if (!recipe) {
			report.withoutRecipe.push(label);
			continue;
		}
		const res = await send(route.method, await recipe());
		report.checked.push(label);
		if (res.status < 200 || res.status > 299) {
			report.unsuccessful.push(`${label} -> ${res.status} ${JSON.stringify(res.body)}`);
			continue;
		}
		const requestId = String(res.headers["x-request-id"]);
		const events = await db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId));
		const complete = events.filter((e) => e.actorId && e.actorRole && e.action && e.sourceAddress);
		if (complete.length === 0) report.unaudited.push(`${label} (request ${requestId}: ${events.length} events)`);
	}
	return report;
}

/** Sends a call through the app as a client would, JSON body and bearer token included. */
export function sendThrough(t: TestPlatform): Send {
	return (method, call) => t.request(method, call.url, { token: call.token, body: call.body });
}
