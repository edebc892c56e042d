import type { SupplyWh } from "../domain/types";

/**
 * A plausible Dakhla day, for the demo site. Dakhla (Western Sahara coast, UTC+1) has a strong,
 * steady trade wind that freshens in the afternoon, and sun from about 06:30 to 18:30 local time;
 * the sea keeps the air cool, so free cooling holds PUE low, a little higher in the afternoon.
 * Everything is a pure function of the hour, so any worker makes the same figures.
 */

const LOCAL_OFFSET_HOURS = 1;
/** Nameplates as multiples of the site's load, and the battery as hours of load. */
const WIND_NAMEPLATE = 1.1;
const SOLAR_NAMEPLATE = 0.9;
const BATTERY_HOURS = 3;

const localMidHour = (hour: Date) => (hour.getUTCHours() + LOCAL_OFFSET_HOURS + 0.5) % 24;

/** Wind output as a share of the load: a trade wind that never drops, strongest mid-afternoon. */
export function windShare(hour: Date): number {
	return WIND_NAMEPLATE * (0.62 + 0.12 * Math.sin((2 * Math.PI * (localMidHour(hour) - 9)) / 24));
}

/** Solar output as a share of the load: a bell from 06:30 to 18:30 local time, nothing at night. */
export function solarShare(hour: Date): number {
	const t = localMidHour(hour);
	if (t <= 6.5 || t >= 18.5) return 0;
	return SOLAR_NAMEPLATE * Math.sin((Math.PI * (t - 6.5)) / 12);
}

/** Facility overhead on top of IT: free cooling, warmer in the afternoon. */
export function demoPue(hour: Date): number {
	return 1.07 + 0.06 * Math.max(0, Math.sin((Math.PI * (localMidHour(hour) - 8)) / 12));
}

/** The grid's factor (Morocco's mix is coal-heavy), higher at the evening peak. */
export function demoGridFactor(hour: Date): number {
	const t = localMidHour(hour);
	return t >= 18 && t < 23 ? 680 : 610;
}

/**
 * The battery's charge (hours of load) at the start of the hour: two days of dispatch at unit
 * load from half full, so it depends on the hour alone. Surplus wind and sun charge it, deficits
 * draw it down before the grid is used.
 */
function batteryAt(hour: Date): number {
	let charge = BATTERY_HOURS / 2;
	for (let back = 48; back > 0; back--) {
		const past = new Date(hour.getTime() - back * 3_600_000);
		const balance = Math.min(1, windShare(past)) + solarShare(past) - 1;
		charge = Math.min(BATTERY_HOURS, Math.max(0, charge + balance));
	}
	return charge;
}

/**
 * What fed the site in the hour, Wh, summing exactly to the meter: wind and sun first (shared by
 * their output when there is more than the load), then the battery, then the grid.
 */
export function demoSupply(hour: Date, siteWh: number): SupplyWh {
	const wind = windShare(hour);
	const solar = solarShare(hour);
	const renewable = wind + solar;
	const scale = renewable > 1 ? 1 / renewable : 1;
	const windWh = Math.round(siteWh * wind * scale);
	const solarWh = Math.min(siteWh - windWh, Math.round(siteWh * solar * scale));
	const deficit = siteWh - windWh - solarWh;
	const batteryWh = Math.min(deficit, Math.round(siteWh * batteryAt(hour)));
	return { wind: windWh, solar: solarWh, battery: batteryWh, grid: deficit - batteryWh, diesel: 0 };
}

/** How busy the instances' vCPUs are in the hour (of what they reserve): busier in working hours. */
export function demoActivity(hour: Date): number {
	const t = localMidHour(hour);
	return 0.45 + 0.3 * Math.max(0, Math.sin((Math.PI * (t - 7)) / 14));
}
