import { randomBytes } from "node:crypto";
import { zones } from "@igoudar/db";
import type { TestPlatform } from "@igoudar/server/testing";

/**
 * How to call each of the energy service's write routes successfully, for the platform's audit
 * coverage test (its recipes, keyed `METHOD /route/:param`, made as an operator).
 */
export function energyWriteRecipes(
	t: TestPlatform,
): Record<string, () => Promise<{ url: string; body?: unknown; token?: string }>> {
	const as = async (url: string, body?: unknown) => ({ url, body, token: await t.operatorToken() });
	const zone = async () => {
		const [row] = await t.db
			.insert(zones)
			.values({ name: `z-${randomBytes(4).toString("hex")}`, jurisdiction: "MA" })
			.returning();
		if (!row) throw new Error("setup zone: none made");
		return row.name;
	};
	const site = async () => {
		const res = await t.request<{ id: string }>("POST", "/v1/sites", {
			token: await t.operatorToken(),
			body: { name: `s-${randomBytes(4).toString("hex")}`, zones: [await zone()] },
		});
		if (res.status !== 201) throw new Error(`setup site: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body.id;
	};
	const lastHour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
	return {
		"POST /v1/sites": async () =>
			as("/v1/sites", { name: `s-${randomBytes(4).toString("hex")}`, zones: [await zone()] }),
		"POST /v1/sites/:site_id/readings": async () =>
			as(`/v1/sites/${await site()}/readings`, {
				items: [
					{
						hour: lastHour,
						site_wh: 1000,
						supply_wh: { wind: 1000, solar: 0, battery: 0, grid: 0, diesel: 0 },
						grid_gco2e_per_kwh: 600,
					},
				],
			}),
	};
}
