import { type Db, instances } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { makeFlavor, makeHost, makeZone } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

/** Creates `count` instances one after the other and says how many distinct hosts they got. */
async function hostsUsed(jurisdiction: string, strategy: "spread" | "pack", count: number): Promise<number> {
	const operator = await t.operatorToken();
	const settings = await t.request("PATCH", "/v1/placement-settings", { token: operator, body: { strategy } });
	expect(settings.status).toBe(200);
	const zone = await makeZone(db, jurisdiction);
	for (let i = 0; i < 3; i++) await makeHost(db, zone.id, { vcpus: 32, memoryMib: 131_072 });
	const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 4096 });
	const tenant = await t.createTenant({ data_residency: [jurisdiction] });
	for (let i = 0; i < count; i++) {
		const res = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: operator,
			body: { name: `vm-${i}`, flavor: flavor.name },
		});
		expect(res.status).toBe(202);
	}
	const placed = await db.select().from(instances).where(eq(instances.tenantId, tenant.id));
	return new Set(placed.map((p) => p.hostId)).size;
}

describe("placement weighing, an operator setting", () => {
	it("spread (the default) puts each new instance on the least loaded host", async () => {
		expect(await hostsUsed("GM", "spread", 3)).toBe(3);
	});

	it("pack fills the most loaded host that still fits", async () => {
		expect(await hostsUsed("GN", "pack", 3)).toBe(1);
	});
});
