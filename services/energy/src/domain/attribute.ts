import { apportion, sum } from "./apportion";
import { siteCarbon } from "./carbon";
import {
	embodiedMgPerHour,
	type HostPower,
	hostEnergy,
	hostPower,
	reservationWeight,
	SECONDS_PER_HOUR,
	volumeEnergies,
} from "./measures";
import type { Methodology } from "./methodology";
import { itEnergy, RowLedger, type RowTally, toRows, totalEnergy } from "./row-ledger";
import type { AttributeHour, HostHour, SiteHourAttribution, SiteHourInput } from "./types";
import { validateSiteHour } from "./validate";

/**
 * The attribution of one site-hour. Order of work, each step an exact integer split:
 * 1. each host's energy (reading or fallback) and each volume's estimated energy; if together
 *    they exceed the site meter, they are scaled down to it (largest remainder) and the excess
 *    disclosed as `meteringDiscrepancyWh`: the site meter is the revenue-grade reference, and no
 *    share is ever negative;
 * 2. per host: idle = min(E, P_idle x 1 h), dynamic = the rest; dynamic by vCPU-seconds (none:
 *    the `unallocated_dynamic` line), idle and embodied carbon by reserved size x time, the
 *    capacity nobody rented as the `unallocated_idle` line;
 * 3. volumes: their estimated energy as idle (storage draws by what is allocated, not by use);
 * 4. facility overhead = meter - IT energy, by IT energy (no IT energy: `unattributed_facility`);
 * 5. the hour's Scope 1, Scope 2 and carbon-free energy by each row's total energy.
 */
export const attributeHour: AttributeHour = (input: SiteHourInput, methodology: Methodology): SiteHourAttribution => {
	validateSiteHour(input);
	const ledger = new RowLedger();
	const meterWh = BigInt(input.siteWh);

	const powers = input.hosts.map((host) => hostPower(host, methodology));
	const readings = input.hosts.map((host, index) => hostEnergy(host, powers[index] as HostPower));
	const reported = [...readings.map((reading) => reading.wh), ...volumeEnergies(input.volumes, methodology)];
	const reportedIt = sum(reported);
	const meteringDiscrepancyWh = reportedIt > meterWh ? reportedIt - meterWh : 0n;
	const itParts =
		meteringDiscrepancyWh === 0n
			? reported
			: apportion(meterWh, [
					...input.hosts.map((host, index) => ({ key: `host:${host.hostId}`, weight: reported[index] as bigint })),
					...input.volumes.map((volume, index) => ({
						key: `volume:${volume.volumeId}`,
						weight: reported[input.hosts.length + index] as bigint,
					})),
				]);

	input.hosts.forEach((host, index) => {
		const estimated = (readings[index] ?? { estimated: true }).estimated;
		shareHost(ledger, host, itParts[index] as bigint, powers[index] as HostPower, estimated, methodology);
	});
	input.volumes.forEach((volume, index) => {
		ledger.volume(volume).idle += itParts[input.hosts.length + index] as bigint;
	});

	const itWh = sum(itParts);
	const facilityOverheadWh = meterWh - itWh;
	if (itWh > 0n) {
		share(ledger, facilityOverheadWh, itEnergy, (tally, part) => {
			tally.facilityOverhead += part;
		});
	} else if (facilityOverheadWh > 0n) {
		ledger.operator("unattributed_facility", null, false).facilityOverhead += facilityOverheadWh;
	}

	const carbon = siteCarbon(input.supplyWh, input.gridGco2ePerKwh, meterWh, methodology);
	if (meterWh === 0n && carbon.scope1Mg + carbon.scope2LocationMg + carbon.scope2MarketMg > 0n) {
		// Supply with no consumption metered: its emissions still belong to someone, the operator.
		ledger.operator("unattributed_facility", null, false);
	}
	const siteLine = RowLedger.operatorKey("unattributed_facility", null);
	const byTotal = meterWh === 0n ? (tally: RowTally) => (tally.key === siteLine ? 1n : 0n) : totalEnergy;
	share(ledger, carbon.scope1Mg, byTotal, (tally, part) => {
		tally.scope1 += part;
	});
	share(ledger, carbon.scope2LocationMg, byTotal, (tally, part) => {
		tally.scope2Location += part;
	});
	share(ledger, carbon.scope2MarketMg, byTotal, (tally, part) => {
		tally.scope2Market += part;
	});
	share(ledger, carbon.cfeWh, totalEnergy, (tally, part) => {
		tally.cfeWh += part;
	});

	const tallies = ledger.all();
	const embodiedMg = sum(tallies.map((tally) => tally.embodied));
	return {
		siteId: input.siteId,
		hour: input.hour,
		methodologyVersion: methodology.version,
		totals: {
			meterWh: input.siteWh,
			itWh: Number(itWh),
			facilityOverheadWh: Number(facilityOverheadWh),
			pue: itWh === 0n ? null : Number(meterWh) / Number(itWh),
			meteringDiscrepancyWh: Number(meteringDiscrepancyWh),
			cfeFraction: carbon.cfeFraction,
			cfeWh: Number(carbon.cfeWh),
			supplyWh: { ...input.supplyWh },
			co2eMg: {
				scope1: Number(carbon.scope1Mg),
				scope2Location: Number(carbon.scope2LocationMg),
				scope2Market: Number(carbon.scope2MarketMg),
				embodied: Number(embodiedMg),
			},
		},
		rows: toRows(tallies, carbon.cfeFraction, methodology.version),
	};
};

/** Splits `total` over every row of the ledger by `weight` and hands each row its part. */
function share(
	ledger: RowLedger,
	total: bigint,
	weight: (tally: RowTally) => bigint,
	add: (tally: RowTally, part: bigint) => void,
): void {
	if (total === 0n) return;
	const { rows, claims } = ledger.claims(weight);
	apportion(total, claims).forEach((part, index) => {
		add(rows[index] as RowTally, part);
	});
}

/** Step 2 for one host: its energy `wh` into dynamic and idle, and its embodied carbon. */
function shareHost(
	ledger: RowLedger,
	host: HostHour,
	wh: bigint,
	power: HostPower,
	estimated: boolean,
	methodology: Methodology,
): void {
	const idle = wh < power.idleW ? wh : power.idleW;
	const dynamic = wh - idle;
	const rows = host.instances.map((instance) => ledger.instance(host, instance, estimated));

	const cpuClaims = host.instances.map((instance, index) => ({
		key: (rows[index] as RowTally).key,
		weight: BigInt(instance.vcpuSeconds),
	}));
	if (sum(cpuClaims.map((claim) => claim.weight)) > 0n) {
		apportion(dynamic, cpuClaims).forEach((part, index) => {
			(rows[index] as RowTally).dynamic += part;
		});
	} else if (dynamic > 0n) {
		ledger.operator("unallocated_dynamic", host, estimated).dynamic += dynamic;
	}

	const reserved = host.instances.map((instance) =>
		reservationWeight(instance.vcpus, instance.memoryMib, BigInt(instance.reservedSeconds), methodology),
	);
	const capacity = reservationWeight(host.capacityVcpus, host.capacityMemoryMib, SECONDS_PER_HOUR, methodology);
	const rented = sum(reserved);
	// Overcommitted beyond the stated capacity: nothing is unrented. Nothing at all: all unrented.
	const unrented = capacity > rented ? capacity - rented : rented === 0n ? 1n : 0n;
	const claims = [
		...host.instances.map((_, index) => ({ key: (rows[index] as RowTally).key, weight: reserved[index] as bigint })),
		{ key: RowLedger.operatorKey("unallocated_idle", host), weight: unrented },
	];
	const idleParts = apportion(idle, claims);
	const embodiedParts = apportion(embodiedMgPerHour(host, methodology), claims);
	const unallocated = ledger.operator("unallocated_idle", host, estimated);
	[...rows, unallocated].forEach((tally, index) => {
		tally.idle += idleParts[index] as bigint;
		tally.embodied += embodiedParts[index] as bigint;
	});
}
