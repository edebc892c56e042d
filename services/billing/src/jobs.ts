import { defineCatalog, defineJob } from "@igoudar/jobs";
import { Type } from "typebox";

const InvoiceRunPayload = Type.Object(
	{ invoice_run_id: Type.String({ format: "uuid" }) },
	{ additionalProperties: false },
);

/** As for compute and storage: the saga runner decides each retry; `attempts` only caps deliveries. */
const retry = { attempts: 1_000, backoff: { type: "requested" as const, delay: 1_000 } };

/** The run carries only its id: the saga reads the period from the run row. */
export const billingJobs = defineCatalog({
	"invoice.run": defineJob({ name: "invoice.run", queue: "billing", payload: InvoiceRunPayload, ...retry }),
});

export type BillingJobName = keyof typeof billingJobs;
