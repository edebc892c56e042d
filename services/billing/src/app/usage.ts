import { type Ctx, problems } from "@igoudar/kit";
import { loadEnergyByResource, loadEnergyHours } from "../db/energy";
import { loadLifetimes } from "../db/usage";
import { formatDecimal } from "../domain/decimal";
import { dateOfMicros, microsOf, monthStartOf } from "../domain/instants";
import {
	accumulateEnergy,
	accumulateUsage,
	METER_DEFINITIONS,
	METERS,
	type Meter,
	type MeterTotals,
	QUANTITY_SCALE,
	quantityNanos,
	type ResourceType,
	zeroTotals,
} from "../domain/metering";

export interface UsageItem {
	meter: Meter;
	unit: string;
	quantity: string;
}

export interface UsageView {
	from: string;
	to: string;
	items: UsageItem[];
	resources?: { resource_type: ResourceType; resource_id: string; items: UsageItem[] }[];
}

function itemsOf(totals: MeterTotals, onlyNonZero: boolean): UsageItem[] {
	const items: UsageItem[] = [];
	for (const meter of METERS) {
		const quantity = quantityNanos(meter, totals[meter]);
		if (onlyNonZero && quantity === 0n) continue;
		items.push({ meter, unit: METER_DEFINITIONS[meter].unit, quantity: formatDecimal(quantity, QUANTITY_SCALE) });
	}
	return items;
}

export interface UsageQuery {
	from?: string;
	to?: string;
	group_by?: "resource";
}

/**
 * Usage over [from, to), default this month so far. The window ends now at the latest: what is
 * still running counts up to this moment. Each meter's total is rounded once from the exact sum;
 * a resource's share is rounded on its own, so shares may differ from the total in the last digit.
 * Energy is the ledger's: the hours that start inside the window, whole.
 */
export async function usageGet(ctx: Ctx, tenantId: string, query: UsageQuery): Promise<UsageView> {
	const now = new Date();
	const from = query.from ? new Date(query.from) : monthStartOf(now);
	const requestedTo = query.to ? new Date(query.to) : now;
	const to = requestedTo < now ? requestedTo : now;
	if (!(from < requestedTo)) {
		throw problems.validation("from must be before to.", [{ field: "query/from", message: "must be before to" }]);
	}
	const fromMicros = microsOf(from);
	// A window that starts in the future has used nothing yet.
	const toMicros = to > from ? microsOf(to) : fromMicros;
	const lifetimes = await loadLifetimes(ctx.db, tenantId, fromMicros, toMicros);
	const totals = accumulateEnergy(
		zeroTotals(),
		await loadEnergyHours(ctx.db, tenantId, fromMicros, toMicros),
		fromMicros,
		toMicros,
	);
	const energyByResource =
		query.group_by === "resource" ? await loadEnergyByResource(ctx.db, tenantId, fromMicros, toMicros) : new Map();
	const resources: NonNullable<UsageView["resources"]> = [];
	for (const lifetime of lifetimes) {
		const share = accumulateUsage(zeroTotals(), lifetime, fromMicros, toMicros);
		share.energy_kwh = energyByResource.get(lifetime.id) ?? 0n;
		for (const meter of METERS) if (meter !== "energy_kwh") totals[meter] += share[meter];
		if (query.group_by === "resource" && METERS.some((meter) => share[meter] > 0n)) {
			resources.push({ resource_type: lifetime.type, resource_id: lifetime.id, items: itemsOf(share, true) });
		}
	}
	return {
		from: from.toISOString(),
		to: dateOfMicros(toMicros).toISOString(),
		items: itemsOf(totals, false),
		...(query.group_by === "resource" ? { resources } : {}),
	};
}
