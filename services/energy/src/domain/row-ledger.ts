import type { Claim } from "./apportion";
import type { AttributionRow, HostHour, InstanceHour, OperatorLine, VolumeHour } from "./types";

/** Running integer totals of one row while the hour is being shared out. */
export interface RowTally {
	key: string;
	head: RowHead;
	zoneId: string | null;
	estimated: boolean;
	dynamic: bigint;
	idle: bigint;
	facilityOverhead: bigint;
	cfeWh: bigint;
	scope1: bigint;
	scope2Location: bigint;
	scope2Market: bigint;
	embodied: bigint;
}

interface InstanceRowHead {
	kind: "instance";
	tenantId: string;
	resourceId: string;
	hostId: string;
}
interface VolumeRowHead {
	kind: "volume";
	tenantId: string;
	resourceId: string;
	storageClass: string;
}
interface OperatorRowHead {
	kind: "operator";
	line: OperatorLine;
	hostId: string | null;
}
type RowHead = InstanceRowHead | VolumeRowHead | OperatorRowHead;

/** IT energy of a row: what facility overhead is shared by. */
export const itEnergy = (tally: RowTally): bigint => tally.dynamic + tally.idle;
/** Everything the row is charged: what the hour's carbon is shared by. */
export const totalEnergy = (tally: RowTally): bigint => tally.dynamic + tally.idle + tally.facilityOverhead;

/**
 * The rows of one site-hour, keyed so every split has a stable tie-break: tenants' rows are
 * created as resources are met (so they exist even when they get nothing), operator lines
 * on first use and kept only if they carry something.
 */
export class RowLedger {
	readonly #rows = new Map<string, RowTally>();

	instance(host: HostHour, instance: InstanceHour, estimated: boolean): RowTally {
		const key = `instance:${host.hostId}:${instance.instanceId}`;
		return this.#row(key, host.zoneId, estimated, {
			kind: "instance",
			tenantId: instance.tenantId,
			resourceId: instance.instanceId,
			hostId: host.hostId,
		});
	}

	volume(volume: VolumeHour): RowTally {
		return this.#row(`volume:${volume.volumeId}`, volume.zoneId, true, {
			kind: "volume",
			tenantId: volume.tenantId,
			resourceId: volume.volumeId,
			storageClass: volume.storageClass,
		});
	}

	operator(line: OperatorLine, host: HostHour | null, estimated: boolean): RowTally {
		const key = RowLedger.operatorKey(line, host);
		return this.#row(key, host?.zoneId ?? null, estimated, {
			kind: "operator",
			line,
			hostId: host?.hostId ?? null,
		});
	}

	/** A claim key that sorts with the row it will land in (before the row exists). */
	static operatorKey(line: OperatorLine, host: HostHour | null): string {
		return `operator:${line}:${host?.hostId ?? "site"}`;
	}

	all(): RowTally[] {
		return [...this.#rows.values()];
	}

	/** Claims on a whole, one per row, weighted by `weight`. */
	claims(weight: (tally: RowTally) => bigint): { rows: RowTally[]; claims: Claim[] } {
		const rows = this.all();
		return { rows, claims: rows.map((tally) => ({ key: tally.key, weight: weight(tally) })) };
	}

	#row(key: string, zoneId: string | null, estimated: boolean, head: RowHead): RowTally {
		const existing = this.#rows.get(key);
		if (existing) {
			existing.estimated ||= estimated;
			return existing;
		}
		const tally: RowTally = {
			key,
			head,
			zoneId,
			estimated,
			dynamic: 0n,
			idle: 0n,
			facilityOverhead: 0n,
			cfeWh: 0n,
			scope1: 0n,
			scope2Location: 0n,
			scope2Market: 0n,
			embodied: 0n,
		};
		this.#rows.set(key, tally);
		return tally;
	}
}

const isEmpty = (tally: RowTally): boolean =>
	totalEnergy(tally) === 0n &&
	tally.scope1 === 0n &&
	tally.scope2Location === 0n &&
	tally.scope2Market === 0n &&
	tally.embodied === 0n;

/** The output rows: tenants' rows in the order met, then operator lines that carry anything. */
export function toRows(
	tallies: readonly RowTally[],
	cfeFraction: number,
	methodologyVersion: string,
): AttributionRow[] {
	const tenants = tallies.filter((tally) => tally.head.kind !== "operator");
	const operator = tallies.filter((tally) => tally.head.kind === "operator" && !isEmpty(tally));
	return [...tenants, ...operator].map(
		(tally): AttributionRow => ({
			...tally.head,
			zoneId: tally.zoneId,
			energyWh: {
				dynamic: Number(tally.dynamic),
				idle: Number(tally.idle),
				facilityOverhead: Number(tally.facilityOverhead),
				total: Number(totalEnergy(tally)),
			},
			cfeWh: Number(tally.cfeWh),
			co2eMg: {
				scope1: Number(tally.scope1),
				scope2Location: Number(tally.scope2Location),
				scope2Market: Number(tally.scope2Market),
				embodied: Number(tally.embodied),
			},
			cfeFraction,
			estimated: tally.estimated,
			methodologyVersion,
		}),
	);
}
