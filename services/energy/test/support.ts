import { randomBytes } from "node:crypto";
import type { Db } from "@igoudar/db";
import { hosts, instanceEvents, instances, storageEvents, volumes, zones } from "@igoudar/db";
import { TestPlatform } from "@igoudar/server/testing";
import { eq, sql } from "drizzle-orm";
import { attributeDueHours, type EnergySettings } from "../src/index";

/**
 * Energy tests: a platform in this process on its own database and Redis prefix. Inventory and
 * lifecycles are written straight into the tables with chosen instants, as the sagas and the
 * triggers would leave them; readings and reports go through the API.
 */

const suffix = () => randomBytes(4).toString("hex");
export const HOUR_MS = 3_600_000;

/** The start of the hour `hoursAgo` hours before the current one. */
export function hourAgo(hoursAgo: number, now = Date.now()): Date {
	return new Date((Math.floor(now / HOUR_MS) - hoursAgo) * HOUR_MS);
}

const instant = (date: Date) => sql`${date.toISOString()}::timestamptz`;

export interface Supply {
	wind: number;
	solar: number;
	battery: number;
	grid: number;
	diesel: number;
}

export interface ReadingBody {
	hour: string;
	site_wh: number;
	hosts?: { host: string; wh: number }[];
	supply_wh: Supply;
	grid_gco2e_per_kwh: number;
}

/** A reading whose supply exactly covers the meter: `grid` Wh from the grid, the rest wind. */
export function reading(hour: Date, siteWh: number, hostWh: Record<string, number>, grid = 0): ReadingBody {
	return {
		hour: hour.toISOString(),
		site_wh: siteWh,
		hosts: Object.entries(hostWh).map(([host, wh]) => ({ host, wh })),
		supply_wh: { wind: siteWh - grid, solar: 0, battery: 0, grid, diesel: 0 },
		grid_gco2e_per_kwh: 600,
	};
}

export class EnergyHarness {
	private constructor(readonly t: TestPlatform) {}

	static async start(env: NodeJS.ProcessEnv = {}): Promise<EnergyHarness> {
		const t = await TestPlatform.start({ env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "1000000", ...env } });
		return new EnergyHarness(t);
	}

	get db(): Db {
		return this.t.db;
	}

	get settings(): EnergySettings {
		return this.t.config.energy;
	}

	async operator(): Promise<string> {
		return this.t.operatorToken();
	}

	async zone(): Promise<{ id: string; name: string }> {
		const [row] = await this.db
			.insert(zones)
			.values({ name: `z-${suffix()}`, jurisdiction: "MA" })
			.returning();
		if (!row) throw new Error("no zone");
		return row;
	}

	/** A host made two days ago, so every hour under test saw it. */
	async host(
		zoneId: string,
		profile: { vcpus?: number; idle?: number; max?: number; embodiedKg?: number; lifetimeYears?: number } = {},
	): Promise<{ id: string; name: string }> {
		const [row] = await this.db
			.insert(hosts)
			.values({
				name: `h-${suffix()}`,
				zoneId,
				vcpus: profile.vcpus ?? 32,
				memoryMib: 131_072,
				diskGib: 1000,
				cpuAllocationRatio: 1,
				memoryAllocationRatio: 1,
				powerIdleW: profile.idle ?? 100,
				powerMaxW: profile.max ?? 300,
				embodiedKgco2e: profile.embodiedKg ?? 1500,
				lifetimeYears: profile.lifetimeYears ?? 5,
				createdAt: new Date(Date.now() - 48 * HOUR_MS),
			})
			.returning();
		if (!row) throw new Error("no host");
		return row;
	}

	async site(zoneRefs: string[]): Promise<{ id: string; name: string }> {
		const res = await this.t.request<{ id: string; name: string }>("POST", "/v1/sites", {
			token: await this.operator(),
			body: { name: `s-${suffix()}`, zones: zoneRefs },
		});
		if (res.status !== 201) throw new Error(`site create failed: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body;
	}

	/**
	 * An instance of the tenant on the host, running from `from` (and deleted at `until`): the row
	 * as the sagas leave it, and only the chosen events.
	 */
	async instance(
		tenantId: string,
		host: { id: string },
		zoneId: string,
		from: Date,
		until?: Date,
		size = { vcpus: 4, memoryMib: 8192 },
	): Promise<string> {
		const [row] = await this.db
			.insert(instances)
			.values({
				tenantId,
				name: `vm-${suffix()}`,
				zoneId,
				hostId: until ? null : host.id,
				status: "running",
				vcpus: size.vcpus,
				memoryMib: size.memoryMib,
				diskGib: 10,
				deletedAt: until ?? null,
			})
			.returning({ id: instances.id });
		if (!row) throw new Error("no instance");
		await this.db.delete(instanceEvents).where(eq(instanceEvents.instanceId, row.id));
		const events = [{ instanceId: row.id, tenantId, status: "running", hostId: host.id, at: instant(from) }];
		if (until) events.push({ instanceId: row.id, tenantId, status: "deleted", hostId: host.id, at: instant(until) });
		await this.db.insert(instanceEvents).values(events);
		return row.id;
	}

	/** A volume of the tenant in the zone, allocated from `from`. */
	async volume(tenantId: string, zoneId: string, sizeGib: number, from: Date, storageClass = "ssd"): Promise<string> {
		const [row] = await this.db
			.insert(volumes)
			.values({ tenantId, name: `v-${suffix()}`, sizeGib, zoneId, storageClass, status: "available" })
			.returning({ id: volumes.id });
		if (!row) throw new Error("no volume");
		await this.db.delete(storageEvents).where(eq(storageEvents.resourceId, row.id));
		await this.db.insert(storageEvents).values({
			resourceType: "volume",
			resourceId: row.id,
			tenantId,
			status: "available",
			sizeGib,
			at: instant(from),
		});
		return row.id;
	}

	async postReadings(siteId: string, items: ReadingBody[]) {
		return this.t.request<Record<string, unknown>>("POST", `/v1/sites/${siteId}/readings`, {
			token: await this.operator(),
			body: { items },
		});
	}

	/** What the repeatable job does on each repetition, now (or at a chosen instant). */
	async attribute(now?: Date) {
		return attributeDueHours(this.db, this.settings, undefined, now);
	}

	async close(): Promise<void> {
		await this.t.close();
	}
}
