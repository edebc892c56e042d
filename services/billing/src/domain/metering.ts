import { divideRoundHalfEven, pow10 } from "./decimal";

/**
 * Metering: usage is computed from the lifecycle events the database records in the same
 * transaction as every status or size change (`instance_events`, `storage_events`), so no code
 * path can change a resource without its usage following. A resource is billed, to the
 * microsecond, for the time between an event with a billable status and the next event.
 */

export const METERS = [
	"vcpu_hours",
	"memory_gib_hours",
	"volume_gib_months",
	"snapshot_gib_months",
	"energy_kwh",
] as const;
export type Meter = (typeof METERS)[number];

/** Quantities are integer nano-units of the meter's unit: nine decimal places on the wire. */
export const QUANTITY_SCALE = 9;

const MICROS_PER_HOUR = 3_600_000_000n;
/** A billing month is 730 hours (365 days x 24 h / 12), whatever the calendar month's length. */
export const HOURS_PER_MONTH = 730n;

/**
 * A meter's quantity is `sum(weight x microseconds) / denominator`: the weight is vCPUs, MiB of
 * memory or GiB of storage, the denominator turns microseconds (and MiB) into the unit. Energy
 * is not a lifetime: its total is the watt-hours the energy ledger attributed to the tenant's
 * resources, and 1000 turns Wh into kWh.
 */
export const METER_DEFINITIONS: Readonly<Record<Meter, { unit: string; denominator: bigint }>> = {
	vcpu_hours: { unit: "vCPU-hour", denominator: MICROS_PER_HOUR },
	memory_gib_hours: { unit: "GiB-hour", denominator: 1024n * MICROS_PER_HOUR },
	volume_gib_months: { unit: "GiB-month", denominator: HOURS_PER_MONTH * MICROS_PER_HOUR },
	snapshot_gib_months: { unit: "GiB-month", denominator: HOURS_PER_MONTH * MICROS_PER_HOUR },
	energy_kwh: { unit: "kWh", denominator: 1000n },
};

export type ResourceType = "instance" | "volume" | "snapshot";

/**
 * What is billed. Instances: while the machine is on (`running`, and `stopping`/`rebooting`,
 * which start from `running` and end when the machine is off or back), not while it is being
 * made, started, stopped, deleted or has failed. Volumes and snapshots: while they hold their
 * space, from the request that claims it until the delete (every status but `failed`, whose
 * claims a failed create has already released; a failed delete still holds, but what failed is
 * the platform's, so it is not billed). `deleted` ends every lifetime.
 */
export const BILLABLE_STATUSES: Readonly<Record<ResourceType, ReadonlySet<string>>> = {
	instance: new Set(["running", "stopping", "rebooting"]),
	volume: new Set(["creating", "available", "attaching", "in_use", "detaching", "resizing", "deleting"]),
	snapshot: new Set(["creating", "available", "deleting"]),
};

export interface LifecycleEvent {
	status: string;
	/** Microseconds since the Unix epoch, as recorded (clock_timestamp). */
	atMicros: bigint;
	/** Volumes and snapshots: the size from this event on. */
	sizeGib: number | null;
}

export interface ResourceLifetime {
	type: ResourceType;
	id: string;
	/** Instances: fixed for the instance's life (copied from the flavor at creation). */
	vcpus: number | null;
	memoryMib: number | null;
	/** In the order they were recorded. */
	events: LifecycleEvent[];
}

export type MeterTotals = Record<Meter, bigint>;

export const zeroTotals = (): MeterTotals => ({
	vcpu_hours: 0n,
	memory_gib_hours: 0n,
	volume_gib_months: 0n,
	snapshot_gib_months: 0n,
	energy_kwh: 0n,
});

/** The weight per meter of a resource while it is in the status of `event` (empty: not billed). */
function weightsAt(lifetime: ResourceLifetime, event: LifecycleEvent): Partial<MeterTotals> {
	if (!BILLABLE_STATUSES[lifetime.type].has(event.status)) return {};
	switch (lifetime.type) {
		case "instance":
			return { vcpu_hours: BigInt(lifetime.vcpus ?? 0), memory_gib_hours: BigInt(lifetime.memoryMib ?? 0) };
		case "volume":
			return { volume_gib_months: BigInt(event.sizeGib ?? 0) };
		case "snapshot":
			return { snapshot_gib_months: BigInt(event.sizeGib ?? 0) };
	}
}

/**
 * Adds, per meter, `weight x microseconds` of the resource's billable time inside
 * [fromMicros, toMicros) to `totals`. A resource whose last event is billable is still running:
 * it counts up to the end of the window.
 */
export function accumulateUsage(
	totals: MeterTotals,
	lifetime: ResourceLifetime,
	fromMicros: bigint,
	toMicros: bigint,
): MeterTotals {
	const { events } = lifetime;
	for (let index = 0; index < events.length; index++) {
		const event = events[index] as LifecycleEvent;
		const start = event.atMicros > fromMicros ? event.atMicros : fromMicros;
		const next = events[index + 1]?.atMicros ?? toMicros;
		const end = next < toMicros ? next : toMicros;
		if (end <= start) continue;
		for (const [meter, weight] of Object.entries(weightsAt(lifetime, event)) as [Meter, bigint][]) {
			totals[meter] += weight * (end - start);
		}
	}
	return totals;
}

/** A meter's total (weight x microseconds) as nano-units of its unit, rounded half to even. */
export function quantityNanos(meter: Meter, total: bigint): bigint {
	return divideRoundHalfEven(total * pow10(QUANTITY_SCALE), METER_DEFINITIONS[meter].denominator);
}

/** A tenant's attributed energy in one hour: the sum of its rows in the energy ledger. */
export interface EnergyHour {
	/** Start of the hour, microseconds since the Unix epoch. */
	hourMicros: bigint;
	wh: bigint;
}

/**
 * Adds the Wh of the hours that start inside [fromMicros, toMicros) to `totals.energy_kwh`. An
 * hour is indivisible (the ledger's grain): it belongs to the window, month or rate version its
 * start falls in.
 */
export function accumulateEnergy(
	totals: MeterTotals,
	hours: readonly EnergyHour[],
	fromMicros: bigint,
	toMicros: bigint,
): MeterTotals {
	for (const hour of hours) {
		if (hour.hourMicros >= fromMicros && hour.hourMicros < toMicros) totals.energy_kwh += hour.wh;
	}
	return totals;
}
