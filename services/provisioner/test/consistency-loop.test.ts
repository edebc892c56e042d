import { findConsistencyDrift } from "@igoudar/compute";
import { auditEvents, quotas } from "@igoudar/db";
import { redisConnectionFactory } from "@igoudar/jobs";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, sql } from "drizzle-orm";
import { type Logger, pino } from "pino";
import { describe, expect, it } from "vitest";
import { consistencyAutoRepairFromEnv, consistencyLoop, latestConsistencyCheck } from "../src/index";
import { counters, createInstance, type Inventory, type Member, makeInventory, makeMember } from "./support";

/**
 * The periodic consistency check as the workers run it: elected through Redis, reporting by
 * default (log and gauge), repairing only when told to. No worker runs here: the instances stay
 * `provisioning` with their create operation open, which holds their claims just the same.
 */

const t = useTestPlatform();

/** A logger whose every line is kept, parsed. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
	const lines: Record<string, unknown>[] = [];
	const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
	return { logger: pino({ level: "info" }, destination), lines };
}

/** One tick of a fresh loop: `start` runs the first check at once and `stop` waits for it. */
async function runOnce(options: { electionPrefix: string; autoRepair: boolean }) {
	const { logger, lines } = capturingLogger();
	const loop = consistencyLoop({
		db: t.db,
		connection: redisConnectionFactory(t.config.redisUrl),
		// Under the platform's prefix, so its cleanup removes the election key.
		prefix: `${t.config.redisPrefix}-${options.electionPrefix}`,
		logger,
		intervalMs: 60_000,
		autoRepair: options.autoRepair,
	});
	loop.start();
	await loop.stop();
	return lines;
}

/** Two instances, then the tenant's vCPU counter bent 3 too high: a lost release. */
async function bentTenant(): Promise<{ member: Member; inventory: Inventory }> {
	const inventory = await makeInventory(t.db);
	const member = await makeMember(t);
	await createInstance(t, member, inventory);
	await createInstance(t, member, inventory);
	await t.db
		.update(quotas)
		.set({ used: sql`${quotas.used} + 3` })
		.where(and(eq(quotas.tenantId, member.tenantId), eq(quotas.resource, "vcpus")));
	return { member, inventory };
}

async function metricsText(): Promise<string> {
	const res = await t.request<string>("GET", "/metrics");
	expect(res.status).toBe(200);
	return res.body;
}

const driftWarnings = (lines: Record<string, unknown>[]) =>
	lines.filter((line) => line.level === 40 && line.msg === "the counters have drifted from the live resources");

describe("IGOUDAR_CONSISTENCY_AUTO_REPAIR", () => {
	it("is off unless set to true or 1, and refuses anything else", () => {
		expect(consistencyAutoRepairFromEnv({})).toBe(false);
		for (const off of ["", "false", "0", "FALSE"]) {
			expect(consistencyAutoRepairFromEnv({ IGOUDAR_CONSISTENCY_AUTO_REPAIR: off })).toBe(false);
		}
		for (const on of ["true", "1", "True"]) {
			expect(consistencyAutoRepairFromEnv({ IGOUDAR_CONSISTENCY_AUTO_REPAIR: on })).toBe(true);
		}
		expect(() => consistencyAutoRepairFromEnv({ IGOUDAR_CONSISTENCY_AUTO_REPAIR: "yes" })).toThrow(/true or false/);
	});
});

describe("the periodic consistency check", () => {
	it("reports drift by default: a warning naming it, the gauge on /metrics, the counters untouched", async () => {
		const { member, inventory } = await bentTenant();
		const before = await counters(t.db, member.tenantId, inventory.hostId);

		const lines = await runOnce({ electionPrefix: "report", autoRepair: false });

		const [warning, ...others] = driftWarnings(lines);
		expect(others).toEqual([]);
		expect(warning).toMatchObject({
			repair: false,
			counts: { quota: 1, host: 0, stuck: 0 },
			drifts: [{ kind: "quota", tenant_id: member.tenantId, resource: "vcpus", stored: 7, actual: 4 }],
		});
		expect(await counters(t.db, member.tenantId, inventory.hostId)).toEqual(before);
		expect(await t.db.select().from(auditEvents).where(eq(auditEvents.action, "system.consistency.repair"))).toEqual(
			[],
		);
		const metrics = await metricsText();
		expect(metrics).toContain('igoudar_consistency_drift{kind="quota"} 1');
		expect(metrics).toContain('igoudar_consistency_drift{kind="host"} 0');
		expect(metrics).toContain('igoudar_consistency_drift{kind="stuck"} 0');
	});

	it("lets only the elected worker check: another loop in the same interval does nothing and exports no gauge", async () => {
		await runOnce({ electionPrefix: "elected", autoRepair: false });
		expect(latestConsistencyCheck()).not.toBeNull();

		const lines = await runOnce({ electionPrefix: "elected", autoRepair: true });
		expect(lines).toEqual([]);
		expect(latestConsistencyCheck()).toBeNull();
		expect(await metricsText()).not.toContain("igoudar_consistency_drift{");
		// Not repaired: the loop that would have was not elected.
		expect((await findConsistencyDrift(t.db)).counts.quota).toBeGreaterThan(0);
	});

	it("repairs when auto repair is on, audited as the system, and the next check finds nothing", async () => {
		const { member, inventory } = await bentTenant();

		const lines = await runOnce({ electionPrefix: "repair", autoRepair: true });

		expect(driftWarnings(lines)).toHaveLength(1);
		expect(lines.find((line) => line.msg === "repaired the drifted counters")).toMatchObject({
			level: 40,
			changes: expect.arrayContaining([
				expect.objectContaining({ kind: "quota", tenant_id: member.tenantId, resource: "vcpus", from: 7, to: 4 }),
			]),
		});
		expect((await counters(t.db, member.tenantId, inventory.hostId)).quota).toEqual({
			instances: 2,
			vcpus: 4,
			memory_mib: 4096,
		});
		const events = await t.db.select().from(auditEvents).where(eq(auditEvents.targetId, member.tenantId));
		expect(events.filter((event) => event.action === "system.consistency.repair")).toMatchObject([
			{ actorId: "system", actorRole: "system", targetType: "quota", tenantId: member.tenantId },
		]);
		expect((await findConsistencyDrift(t.db)).drifts).toEqual([]);
		// The gauge shows what the check found before repairing (this tenant's and the first test's):
		// drift that keeps coming stays visible even when it is repaired each time.
		expect(await metricsText()).toContain('igoudar_consistency_drift{kind="quota"} 2');
	});
});
