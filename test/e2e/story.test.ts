import { createIgoudarClient, type IgoudarClient } from "@igoudar/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	moveUsageToLastMonth,
	previousMonth,
	STORY_OPERATOR,
	type StoryPlatform,
	startStoryPlatform,
} from "../support/story-platform";

/**
 * The whole story of a tenant, through the SDK against the real server: once as one process
 * (`--target=all`), once split into an API process per service and a worker process on one
 * database and Redis. Every step is a real request; waits are real operations run by the workers.
 */
describe.each(["all", "split"] as const)("a tenant's story on --target=%s, through the SDK", (target) => {
	let platform: StoryPlatform;
	beforeAll(async () => {
		// The energy job every second rather than every minute: the story waits on it.
		platform = await startStoryPlatform(target, { IGOUDAR_ENERGY_INTERVAL_MS: "1000" });
	}, 120_000);
	afterAll(async () => {
		await platform?.stop();
	});

	it("operator sets up capacity, prices and a tenant; the tenant provisions, attaches, stops, deletes and reads usage, an invoice and its energy", async () => {
		const ops = createIgoudarClient({ baseUrl: platform.url, ...STORY_OPERATOR });
		// Operator: a zone under Moroccan law, a host, a pool, a flavor, a price plan, a tenant.
		await ops.zones.create({ name: "dakhla-1", jurisdiction: "MA" });
		const host = await ops.hosts.create({
			name: "hv-001",
			zone: "dakhla-1",
			vcpus: 16,
			memory_mib: 65_536,
			disk_gib: 1000,
			power_idle_w: 90,
			power_max_w: 350,
		});
		const pool = await ops.storagePools.create({
			name: "dakhla-1-ssd",
			zone: "dakhla-1",
			storage_class: "ssd",
			capacity_gib: 1000,
			driver: "simulated",
		});
		await ops.flavors.create({ name: "c2-m4", vcpus: 2, memory_mib: 4096, disk_gib: 40 });
		const plan = await ops.pricePlans.create({
			name: "standard",
			currency: "MAD",
			tax_rate: "0.2",
			rates: { vcpu_hour: "0.02", memory_gib_hour: "0.003", volume_gib_month: "0.4", snapshot_gib_month: "0.1" },
		});
		const tenant = await ops.tenants.create({ name: "acme", data_residency: ["MA"] });
		await ops.tenants.update(tenant.id, { price_plan_id: plan.id });
		await ops.quotas.update(tenant.id, { limits: { instances: 5, vcpus: 10 } });
		const account = await ops.serviceAccounts.create(tenant.id, { name: "deployer", role: "admin" });

		// Tenant: its own credentials from here on.
		const acme: IgoudarClient = createIgoudarClient({
			baseUrl: platform.url,
			clientId: account.client_id,
			clientSecret: account.client_secret ?? "",
		});
		const { instance } = await acme.instances.create(tenant.id, { name: "web-1", flavor: "c2-m4" }, { wait: true });
		expect(instance).toMatchObject({ status: "running", zone: "dakhla-1" });
		const { volume } = await acme.volumes.create(tenant.id, { name: "data-1", size_gib: 10 }, { wait: true });
		expect(volume.status).toBe("available");
		await acme.volumes.attach(tenant.id, volume.id, { instance_id: instance.id }, { wait: true });
		expect((await acme.instances.get(tenant.id, instance.id)).volume_ids).toEqual([volume.id]);
		await acme.instances.stop(tenant.id, instance.id, { wait: true });
		expect((await acme.instances.get(tenant.id, instance.id)).status).toBe("stopped");
		expect((await ops.hosts.get(host.id)).allocated).toMatchObject({ instances: 1 });
		await acme.volumes.detach(tenant.id, volume.id, { wait: true });
		await acme.volumes.delete(tenant.id, volume.id, { wait: true });
		await acme.instances.delete(tenant.id, instance.id, { wait: true });
		expect((await acme.quotas.list(tenant.id)).filter((quota) => quota.used !== 0)).toEqual([]);
		expect((await ops.storagePools.get(pool.id)).allocated_gib).toBe(0);
		// A second instance stays: it will have run for a whole month once the history moves back.
		const { instance: kept } = await acme.instances.create(
			tenant.id,
			{ name: "web-2", flavor: "c2-m4" },
			{ wait: true },
		);
		expect((await acme.instances.list(tenant.id).toArray()).map((i) => i.id)).toEqual([kept.id]);

		const usage = await acme.usage.get(tenant.id);
		const metered = Object.fromEntries(usage.items.map((item) => [item.meter, Number(item.quantity)]));
		expect(metered.vcpu_hours).toBeGreaterThan(0);
		expect(metered.volume_gib_months).toBeGreaterThan(0);

		// Billing: last month's run, once the story's usage lies in an ended month.
		await moveUsageToLastMonth(platform.databaseUrl, tenant.id);
		const month = previousMonth();
		const { run, operation } = await ops.invoices.run(
			{ period_start: month.start, period_end: month.end },
			{ wait: { timeoutMs: 60_000 } },
		);
		expect(operation.status).toBe("succeeded");
		expect(run.invoices_made).toBe(1);
		expect((await ops.invoices.getRun(run.id)).operation?.status).toBe("succeeded");
		const [summary, ...others] = await acme.invoices.list(tenant.id).toArray();
		expect(others).toEqual([]);
		const invoice = await acme.invoices.get(tenant.id, summary?.id ?? "");
		expect(invoice).toMatchObject({
			status: "draft",
			currency: "MAD",
			period_start: month.start,
			price_plan_id: plan.id,
		});
		// web-2's month of 2 vCPUs at 0.02 alone is above 20 MAD before tax.
		expect(Number(invoice.subtotal)).toBeGreaterThan(20);
		expect(Number(invoice.total)).toBeGreaterThan(Number(invoice.subtotal));
		expect(invoice.lines.map((line) => line.meter)).toEqual(
			expect.arrayContaining(["vcpu_hours", "volume_gib_months"]),
		);
		const csv = await acme.invoices.csv(tenant.id, invoice.id);
		expect(csv.split("\n").length).toBeGreaterThan(invoice.lines.length);
		const finalized = await ops.invoices.finalize(tenant.id, invoice.id);
		expect(finalized.number).toEqual(expect.any(String));

		// Energy: a site metering the zone, the last ended hour's readings (web-2 ran all of it, now
		// that its history lies a month back), attributed by the workers' repeatable job.
		const site = await ops.sites.create({ name: "dakhla", zones: ["dakhla-1"] });
		const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
		const recorded = await ops.sites.recordReadings(site.id, {
			items: [
				{
					hour,
					site_wh: 400,
					hosts: [{ host: "hv-001", wh: 300 }],
					supply_wh: { wind: 300, solar: 60, battery: 0, grid: 40, diesel: 0 },
					grid_gco2e_per_kwh: 610,
				},
			],
		});
		expect(recorded.items).toEqual([{ hour: new Date(hour).toISOString(), changed: true }]);
		let energy = await acme.energy.get(tenant.id, { from: hour });
		for (let tries = 0; energy.items.length === 0 && tries < 120; tries++) {
			await new Promise((resolve) => setTimeout(resolve, 500));
			energy = await acme.energy.get(tenant.id, { from: hour });
		}
		expect(energy.items).toHaveLength(1);
		expect(energy.items[0]?.status).toBe("provisional");
		// 360 of the 400 Wh supplied were carbon-free; each row's share is a whole number of Wh.
		expect(energy.items[0]?.cfe_fraction).toBeCloseTo(0.9, 1);
		expect(energy.items[0]?.energy_wh.dynamic).toBeGreaterThan(0);
		const balance = await ops.sites.balance(site.id, { from: hour });
		expect(balance.items).toHaveLength(1);
		expect(balance.items[0]).toMatchObject({ meter_wh: 400, residual_wh: 0 });
		expect(balance.items[0]?.tenants_wh).toBe(energy.items[0]?.energy_wh.total);

		// Nothing drifted on the way: counters equal what the resources hold.
		expect((await ops.system.consistency()).drifts).toEqual([]);
	}, 240_000);
});
