import createClient, { type Client } from "openapi-fetch";
import { authenticatedFetch } from "./fetch.js";
import type { paths } from "./generated/schema.js";
import { invoices, usage } from "./resources/billing.js";
import { flavors, hosts, instances, zones } from "./resources/compute.js";
import type { Context } from "./resources/context.js";
import { energy, sites } from "./resources/energy.js";
import { auditEvents, placementGroups, pricePlans, system } from "./resources/platform.js";
import { snapshots, storagePools, volumes } from "./resources/storage.js";
import { operations, quotas, serviceAccounts, tenants } from "./resources/tenancy.js";
import type { RetryOptions } from "./retry.js";
import type { Operation } from "./types.js";
import { type WaitOptions, waitForOperation } from "./wait.js";

export interface IgoudarClientOptions {
	baseUrl: string;
	/** Service-account credentials: tokens are fetched and refreshed automatically. */
	clientId?: string;
	clientSecret?: string;
	/** A fixed bearer token instead of credentials. */
	token?: string;
	/**
	 * How idempotent calls (GET, HEAD, DELETE, PUT, and every POST: each gets an Idempotency-Key)
	 * are retried on network errors, 429, 502, 503, 504 and 409 `idempotency_key_in_use`.
	 * `Retry-After` is honoured; `{ maxAttempts: 1 }` turns retries off.
	 */
	retry?: RetryOptions;
	/** @deprecated use `retry.maxAttempts` (this counts retries, not tries). */
	retries?: number;
	fetch?: typeof fetch;
}

/**
 * The raw typed client (`GET`, `POST`, ... from openapi-fetch: they resolve with
 * `{ data, error, response }` and do not throw on HTTP errors), plus resource helpers that
 * return the body and throw IgoudarError on any error.
 */
export type IgoudarClient = Client<paths> &
	ReturnType<typeof resources> & {
		/** Polls an operation until it ends: resolves on succeeded, throws its problem on failed. */
		waitForOperation(tenantId: string, operationId: string, options?: WaitOptions): Promise<Operation>;
	};

/** An operation as the API returns it. */
export type OperationResult = Operation;

function resources(context: Context) {
	return {
		tenants: tenants(context),
		serviceAccounts: serviceAccounts(context),
		quotas: quotas(context),
		operations: operations(context),
		instances: instances(context),
		flavors: flavors(context),
		zones: zones(context),
		hosts: hosts(context),
		volumes: volumes(context),
		snapshots: snapshots(context),
		storagePools: storagePools(context),
		placementGroups: placementGroups(context),
		pricePlans: pricePlans(context),
		auditEvents: auditEvents(context),
		system: system(context),
		usage: usage(context),
		invoices: invoices(context),
		sites: sites(context),
		energy: energy(context),
	};
}

export function createIgoudarClient(options: IgoudarClientOptions): IgoudarClient {
	const retry: RetryOptions = {
		...(options.retries === undefined ? {} : { maxAttempts: options.retries + 1 }),
		...options.retry,
	};
	const client = createClient<paths>({
		baseUrl: options.baseUrl,
		// Resolved at call time, so a fetch patched after creation (tests, polyfills) is used.
		fetch: authenticatedFetch({ ...options, retry }, options.fetch ?? ((input, init) => globalThis.fetch(input, init))),
	});
	return Object.assign(client, resources({ client }), {
		waitForOperation: (tenantId: string, operationId: string, wait?: WaitOptions) =>
			waitForOperation(client, tenantId, operationId, wait),
	});
}
