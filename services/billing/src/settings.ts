import { envInt, envString } from "@igoudar/kit";

export interface BillingSettings {
	/** Name or id of the plan tenants without one of their own are invoiced under; none if unset. */
	defaultPricePlan?: string;
	/** Hours a draft invoice waits for an operator before the workers finalize it. */
	invoiceGraceHours: number;
}

export const DEFAULT_INVOICE_GRACE_HOURS = 72;

export function billingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): BillingSettings {
	const graceHours = envInt("IGOUDAR_INVOICE_GRACE_HOURS", DEFAULT_INVOICE_GRACE_HOURS, env);
	if (graceHours < 0) throw new Error("IGOUDAR_INVOICE_GRACE_HOURS must be 0 or more");
	const plan = envString("IGOUDAR_DEFAULT_PRICE_PLAN", "", env).trim();
	return { defaultPricePlan: plan === "" ? undefined : plan, invoiceGraceHours: graceHours };
}
