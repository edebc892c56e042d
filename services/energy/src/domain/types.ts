import type { Methodology } from "./methodology";

/**
 * The input and output of the hourly energy and carbon attribution of one site. Everything here
 * is plain data: the domain reads nothing and writes nothing. Energy is integer watt-hours,
 * carbon integer milligrams of CO2e (served as grams with three decimals), so every sum of rows
 * is exact and day and month roll-ups are sums of integers.
 */

/** What fed the site in the hour, in Wh, as the site's supply meters report it. */
export interface SupplyWh {
	wind: number;
	solar: number;
	battery: number;
	grid: number;
	diesel: number;
}

export const SUPPLY_SOURCES = ["wind", "solar", "battery", "grid", "diesel"] as const;
export type SupplySource = (typeof SUPPLY_SOURCES)[number];

/** One instance's share of a host during the hour. */
export interface InstanceHour {
	instanceId: string;
	tenantId: string;
	/** The instance's reserved size (copied from its flavor). */
	vcpus: number;
	memoryMib: number;
	/** CPU time the instance's vCPUs used in the hour, in vCPU-seconds (integer, >= 0). */
	vcpuSeconds: number;
	/** Seconds of the hour the instance held its reservation on this host (0..3600). */
	reservedSeconds: number;
}

/** One host during the hour. */
export interface HostHour {
	hostId: string;
	zoneId: string;
	/** The hour's energy as the host's BMC, Redfish or PDU reported it; null: no reading. */
	measuredWh: number | null;
	/** The host's power profile; null: the methodology's default profile is used (estimated). */
	powerIdleW: number | null;
	powerMaxW: number | null;
	/** Mean utilisation in the hour (0..1) for the fallback `idle + (max - idle) x utilisation`. */
	utilisation: number;
	/** What can be rented on the host (vCPUs and memory after allocation ratios). */
	capacityVcpus: number;
	capacityMemoryMib: number;
	/** Manufacturing footprint and service life; null: no embodied carbon is attributed. */
	embodiedKgco2e: number | null;
	lifetimeYears: number | null;
	/** Every instance that held a reservation on the host during the hour. */
	instances: InstanceHour[];
}

/** One volume during the hour (storage energy is estimated per class, see the methodology). */
export interface VolumeHour {
	volumeId: string;
	tenantId: string;
	zoneId: string;
	storageClass: string;
	/** Allocated size x seconds allocated during the hour (GiB-seconds, integer >= 0). */
	allocatedGibSeconds: number;
}

/** Everything the attribution of one site-hour needs. */
export interface SiteHourInput {
	siteId: string;
	/** Start of the hour, on the hour, UTC (RFC 3339). */
	hour: string;
	/** The site meter for the hour, Wh: the figure every hour's rows must add up to. */
	siteWh: number;
	supplyWh: SupplyWh;
	/** Location-based carbon intensity of grid import during the hour. */
	gridGco2ePerKwh: number;
	hosts: HostHour[];
	volumes: VolumeHour[];
}

export interface EnergyWh {
	dynamic: number;
	idle: number;
	facilityOverhead: number;
	/** dynamic + idle + facilityOverhead. */
	total: number;
}

/** Milligrams of CO2e (1000 mg = 1 g). */
export interface Co2eMg {
	scope1: number;
	scope2Location: number;
	scope2Market: number;
	embodied: number;
}

/**
 * Lines the operator carries and discloses rather than hiding them in tenants' rows:
 * - `unallocated_idle`: the idle energy (and embodied carbon) of host capacity nobody rented;
 * - `unallocated_dynamic`: a host's energy above idle in an hour when none of its instances used
 *   any CPU (hypervisor and firmware work), never charged to idle tenants;
 * - `unattributed_facility`: the site meter in an hour with no IT energy at all to share it by.
 */
export const OPERATOR_LINES = ["unallocated_idle", "unallocated_dynamic", "unattributed_facility"] as const;
export type OperatorLine = (typeof OPERATOR_LINES)[number];

interface RowBase {
	zoneId: string | null;
	energyWh: EnergyWh;
	/** The row's carbon-free energy (its total x the hour's CFE fraction, largest remainder). */
	cfeWh: number;
	co2eMg: Co2eMg;
	/** The hour's CFE fraction (same for every row of a site-hour; no banking between hours). */
	cfeFraction: number;
	/** True when any part of the row's energy is an estimate rather than a reading. */
	estimated: boolean;
	methodologyVersion: string;
}

export interface InstanceRow extends RowBase {
	kind: "instance";
	tenantId: string;
	resourceId: string;
	hostId: string;
}

export interface VolumeRow extends RowBase {
	kind: "volume";
	tenantId: string;
	resourceId: string;
	storageClass: string;
}

export interface OperatorRow extends RowBase {
	kind: "operator";
	line: OperatorLine;
	/** The host the line belongs to; null for site-wide lines. */
	hostId: string | null;
}

export type AttributionRow = InstanceRow | VolumeRow | OperatorRow;

/** The site's own figures for the hour; the rows add up to them exactly. */
export interface SiteHourTotals {
	meterWh: number;
	/** Energy of hosts and storage after any scaling to the meter (sum of dynamic + idle). */
	itWh: number;
	facilityOverheadWh: number;
	/** meter / IT energy as measured this hour; null when there was no IT energy. */
	pue: number | null;
	/**
	 * How much the hosts' and storage's own figures exceeded the site meter (0 normally). When
	 * they do, they are scaled down to the meter (largest remainder), never a negative share.
	 */
	meteringDiscrepancyWh: number;
	cfeFraction: number;
	cfeWh: number;
	supplyWh: SupplyWh;
	co2eMg: Co2eMg;
}

export interface SiteHourAttribution {
	siteId: string;
	hour: string;
	methodologyVersion: string;
	totals: SiteHourTotals;
	/** Tenants' rows then operator lines; sum of `energyWh.total` = `totals.meterWh`. */
	rows: AttributionRow[];
}

/** The attribution itself (see `attribute.ts`): pure, deterministic, total for valid input. */
export type AttributeHour = (input: SiteHourInput, methodology: Methodology) => SiteHourAttribution;
