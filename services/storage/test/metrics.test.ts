import type { Db } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { createVolume, makePool, makeZone } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

describe("storage metrics", () => {
	it("publishes each pool's allocation and free space at /metrics", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 100, overcommitRatio: 2, storageClass: "hdd" });
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");
		await createVolume(t, tenant.id, token, { size_gib: 50, zone: zone.name });
		await t.platform.refreshMetrics();
		const res = await t.request<string>("GET", "/metrics");
		const labels = `pool="${pool.name}",zone="${zone.name}",storage_class="hdd"`;
		expect(res.body).toContain(`igoudar_storage_pool_allocated_gib{${labels}} 50`);
		expect(res.body).toContain(`igoudar_storage_pool_free_gib{${labels}} 150`);
	});
});
