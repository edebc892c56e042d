import type { Static, TObject, TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { BATCH_JOB } from "./job-batches";

/**
 * The job catalog: every kind of background job, its payload schema, the queue it runs on and
 * how BullMQ retries it. The catalog is the single place a job is declared, so the enqueue side
 * (outbox), the relay (retry options) and the worker side (handler lookup, payload checks) cannot
 * disagree, and start-up can refuse a job that nobody handles.
 */

export interface JobBackoff {
	/**
	 * `exponential`: BullMQ doubles `delay` on each retry. `requested`: the failed run says how long
	 * to wait (the saga runner does, from the step's retry policy; see retry.ts).
	 */
	type: "exponential" | "requested";
	/** Milliseconds before the first retry (`exponential` only). */
	delay: number;
}

export interface JobDefinition<Name extends string = string, Payload extends TObject = TObject> {
	name: Name;
	queue: string;
	payload: Payload;
	/** Total tries, the first included. The saga runner compensates when the last one fails. */
	attempts: number;
	backoff: JobBackoff;
	/**
	 * Runs of this job that the relay moves together may travel in one batch job with others of
	 * their queue (job-batches.ts); each still runs as its own operation. For busy queues whose
	 * runs are short: the BullMQ cost of a job is then shared by the batch.
	 */
	batched?: boolean;
}

/** Name -> definition. Build one with `defineCatalog` so names and keys are checked. */
export type JobCatalog = Record<string, JobDefinition>;

export type JobPayload<Definition extends JobDefinition> = Static<Definition["payload"]>;

export type CatalogJobName<Catalog extends JobCatalog> = keyof Catalog & string;

export class JobPayloadError extends Error {
	readonly jobName: string;
	readonly errors: { path: string; message: string }[];

	constructor(jobName: string, errors: { path: string; message: string }[]) {
		const summary = errors.map((e) => `${e.path || "/"} ${e.message}`).join("; ");
		super(`Invalid payload for job ${jobName}: ${summary}`);
		this.name = "JobPayloadError";
		this.jobName = jobName;
		this.errors = errors;
	}
}

/**
 * Job data lives in Redis, is visible in dashboards and is kept for days after the job ends, so
 * it must carry ids only: a worker loads secrets and details from the database when it runs.
 * A field whose name looks like a credential is refused when the job is declared.
 */
const SECRET_WORDS = new Set(["secret", "password", "passphrase", "token", "credential", "credentials"]);
const NAME = /^[a-z][a-z0-9._-]{0,127}$/;

/** `clientSecret`, `api_key`, `privateKey` look like secrets; `tokenId` is only an id. */
export function looksLikeSecret(field: string): boolean {
	const words = field
		.split(/[_\-.]|(?=[A-Z])/)
		.filter(Boolean)
		.map((word) => word.toLowerCase());
	const last = words[words.length - 1];
	if (last === "id" || last === "ids") return false;
	const joined = words.join("");
	return words.some((word) => SECRET_WORDS.has(word)) || joined.includes("privatekey") || joined.includes("apikey");
}

function findSecretFields(schema: TSchema, path: string, found: string[]): void {
	const node = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] };
	for (const [key, child] of Object.entries(node.properties ?? {})) {
		const childPath = `${path}/${key}`;
		if (looksLikeSecret(key)) found.push(childPath);
		findSecretFields(child, childPath, found);
	}
	if (node.items) findSecretFields(node.items, `${path}/*`, found);
	for (const member of node.anyOf ?? []) findSecretFields(member, path, found);
}

export function defineJob<const Name extends string, Payload extends TObject>(
	definition: JobDefinition<Name, Payload>,
): JobDefinition<Name, Payload> {
	const { name, queue, attempts, backoff } = definition;
	if (!NAME.test(name)) throw new Error(`Job name ${JSON.stringify(name)} must match ${NAME}`);
	// BullMQ uses ':' as its key separator, so a queue name with one would collide with its keys.
	if (!NAME.test(queue)) throw new Error(`Queue name ${JSON.stringify(queue)} of job ${name} must match ${NAME}`);
	if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`Job ${name}: attempts must be an integer >= 1`);
	if (!(backoff.delay >= 0)) throw new Error(`Job ${name}: backoff.delay must be >= 0`);
	if (definition.payload.type !== "object") throw new Error(`Job ${name}: the payload schema must be an object`);
	const secrets: string[] = [];
	findSecretFields(definition.payload, "", secrets);
	if (secrets.length > 0) {
		throw new Error(`Job ${name}: payloads carry ids only, never secrets; remove ${secrets.join(", ")}`);
	}
	return definition;
}

/** Checks that every key names its own definition, so lookups by job name cannot go astray. */
export function defineCatalog<const Catalog extends JobCatalog>(catalog: Catalog): Catalog {
	for (const [key, definition] of Object.entries(catalog)) {
		if (definition.name === BATCH_JOB)
			throw new Error(`Job name ${JSON.stringify(BATCH_JOB)} is reserved for batch jobs`);
		if (key !== definition.name) {
			throw new Error(`Catalog key ${JSON.stringify(key)} holds job ${JSON.stringify(definition.name)}`);
		}
	}
	return catalog;
}

export function findJob(catalog: JobCatalog, name: string): JobDefinition | undefined {
	return Object.hasOwn(catalog, name) ? catalog[name] : undefined;
}

/** The queues a catalog uses, each once, in declaration order. */
export function catalogQueues(catalog: JobCatalog): string[] {
	return [...new Set(Object.values(catalog).map((definition) => definition.queue))];
}

// Compiling a schema is far slower than checking against it; do it once per definition.
const validators = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
	let validator = validators.get(schema);
	if (!validator) {
		validator = Compile(schema);
		validators.set(schema, validator);
	}
	return validator;
}

/** Throws `JobPayloadError` unless the payload matches the definition's schema. */
export function assertJobPayload<Definition extends JobDefinition>(
	definition: Definition,
	payload: unknown,
): asserts payload is JobPayload<Definition> {
	const validator = validatorFor(definition.payload);
	if (validator.Check(payload)) return;
	const errors = validator.Errors(payload).map((error) => ({ path: error.instancePath, message: error.message }));
	throw new JobPayloadError(definition.name, errors);
}
