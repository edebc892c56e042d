import type { ServiceModule } from "@igoudar/kit";
import type { BillingDeps } from "./deps";
import { invoiceRunRoutes } from "./routes/invoice-runs";
import { invoiceRoutes } from "./routes/invoices";
import { pricePlanRoutes } from "./routes/price-plans";
import { usageRoutes } from "./routes/usage";

export { invoiceRunSaga, scheduleEndedMonth } from "./app/invoice-runs";
export { finalizeDueInvoices } from "./app/invoices";
export { makeTenantInvoice } from "./app/invoicing";
export type { BillingDeps } from "./deps";
// The energy ledger derives instances' and volumes' hours from the same lifetimes billing meters.
export {
	accumulateUsage,
	type LifecycleEvent,
	type MeterTotals,
	type ResourceLifetime,
	zeroTotals,
} from "./domain/metering";
export { type BillingJobName, billingJobs } from "./jobs";
export { type BillingSchedule, billingSchedule } from "./schedule";
export { type BillingSettings, billingSettingsFromEnv } from "./settings";

export const billingService: ServiceModule<BillingDeps> = {
	name: "billing",
	tags: [{ name: "billing", description: "Price plans, metered usage and invoices." }],
	async register(app, deps) {
		for (const routes of [pricePlanRoutes, usageRoutes, invoiceRunRoutes, invoiceRoutes]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
