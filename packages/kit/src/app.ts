import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { registerAjvFormats, type TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type Db, isUuid, tenants } from "@igoudar/db";
import { eq } from "drizzle-orm";
import Fastify, {
	type FastifyBaseLogger,
	type FastifyInstance,
	type FastifyReply,
	type FastifyRequest,
	type FastifySchema,
	LogController,
	type RouteOptions,
} from "fastify";
import type { Registry } from "prom-client";
import { installAdmission } from "./admission";
import type { Authenticator } from "./auth";
import { clientErrorHandler } from "./client-errors";
import type { KitConfig } from "./config";
import { frameworkErrorHandler, installErrorHandling } from "./error-handler";
import type { ProblemCode } from "./errors";
import { ProblemError, problems } from "./errors";
import type { IdempotencyClaim } from "./idempotency";
import { claimIdempotencyKey, completeIdempotencyKey, idempotencyKeyOf, replayResponse } from "./idempotency";
import { locationHeaders } from "./location";
import { createMetrics, newRequestId, type Probe, registerServiceEndpoints, requestRecorder } from "./observability";
import { describeAccess, SpecComponents } from "./openapi";
import { type Access, type Principal, ROLE_RANK } from "./principal";
import { type RateLimitSettings, registerRateLimit, TOKEN_ROUTE } from "./rate-limit";
import { appendRouteHook } from "./route-hooks";
import {
	errorResponses,
	IdempotencyHeaders,
	PROBLEM_SCHEMA_ID,
	ProblemFieldErrorSchema,
	ProblemSchema,
	schemaName,
} from "./schemas";
import { documentTextRule, strictValidatorCompiler } from "./strict-input";

declare module "fastify" {
	interface FastifyContextConfig {
		access?: Access;
		/**
		 * Top-level response fields shown once and never stored (a new credential's secret): they are
		 * left out of the response kept for Idempotency-Key replays, so no table ever holds them.
		 */
		secretFields?: string[];
	}
	interface FastifyRequest {
		principal: Principal | null;
		idempotency: IdempotencyClaim | null;
	}
}

export type App = FastifyInstance<
	import("node:http").Server,
	import("node:http").IncomingMessage,
	import("node:http").ServerResponse,
	FastifyBaseLogger,
	TypeBoxTypeProvider
>;

/** One mounted route with its access rule: the authorization matrix is generated from these. */
export interface RouteRecord {
	method: string;
	url: string;
	access: Access;
	operationId?: string;
	/** GET: the named schema its 200 answers, so a 202 carrying one can name where to read it (`location.ts`). */
	answers?: string;
}

export interface ServiceModule<Deps> {
	name: string;
	tags: { name: string; description: string }[];
	register(app: App, deps: Deps): Promise<void>;
}

export interface AppOptions {
	db: Db;
	authenticator: Authenticator;
	config: KitConfig;
	probes: Probe[];
	/**
	 * The document /openapi.json serves. A process that mounts only some services serves the
	 * merged spec of all of them, so clients behind a router see one API; default: this app's own.
	 */
	openapiDocument?: () => unknown;
	/** Absent: no rate limiting (the spec generator, unit tests of the kit). */
	rateLimit?: RateLimitSettings;
	logger: FastifyBaseLogger | false;
	title?: string;
	tags?: { name: string; description: string }[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DOCS_PREFIX = "/docs";
const readMethods = new Set(["GET", "HEAD", "OPTIONS"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function routeAccess(route: RouteOptions): Access | undefined {
	return route.config?.access;
}

export async function createApp(options: AppOptions): Promise<{ app: App; routes: RouteRecord[]; metrics: Registry }> {
	registerAjvFormats();
	const app = Fastify({
		loggerInstance: options.logger === false ? undefined : options.logger,
		logger: options.logger === false ? false : undefined,
		bodyLimit: options.config.bodyLimit,
		// Only the listed proxies' X-Forwarded-For is believed: anyone else's would choose its own address.
		trustProxy: options.config.trustedProxies.length > 0 ? options.config.trustedProxies : false,
		// One log line per request (written in onResponse) instead of Fastify's two: the request
		// log took about a tenth of a read's CPU time (see design notes, Performance).
		logController: new LogController({ requestIdLogLabel: "request_id", disableRequestLogging: true }),
		// Accept a caller's request id when it is sane, otherwise mint one.
		genReqId: (req) => {
			const given = req.headers["x-request-id"];
			return typeof given === "string" && REQUEST_ID.test(given) ? given : newRequestId();
		},
		return503OnClosing: true,
		frameworkErrors: frameworkErrorHandler,
		// Requests Node refuses before Fastify sees them (an over-long URL or headers) answer a problem too.
		clientErrorHandler,
		routerOptions: { ignoreTrailingSlash: true },
		ajv: { customOptions: { removeAdditional: false } },
	}).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

	app.setValidatorCompiler(strictValidatorCompiler);
	// A JSON API: Fastify's built-in text/plain parser would turn a mislabelled body into a
	// string that fails validation as 400, where the honest answer is 415.
	app.removeContentTypeParser("text/plain");
	app.decorateRequest("principal", null);
	app.decorateRequest("idempotency", null);
	app.addSchema(ProblemFieldErrorSchema);
	app.addSchema(ProblemSchema);
	installErrorHandling(app);

	const routes: RouteRecord[] = [];
	// The deployment's page size: the default when a list names none, and a cap below the contract's.
	const pageSizeOf = async (request: FastifyRequest): Promise<void> => {
		const query = request.query as { limit?: unknown };
		if (query.limit === undefined) query.limit = options.config.pageSizeDefault;
		else if (typeof query.limit === "number" && query.limit > options.config.pageSizeMax) {
			// A shorter page with a next_page_token is a valid answer to any `limit`: no 400 for it.
			query.limit = options.config.pageSizeMax;
		}
	};
	const claimIdempotency = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
		if (request.method !== "POST" || !request.principal) return;
		const key = idempotencyKeyOf(request);
		if (!key) return;
		const outcome = await claimIdempotencyKey(
			options.db,
			request.principal.id,
			key,
			request.method,
			request.url,
			request.body,
		);
		if (outcome.kind === "replay") return replayResponse(reply, outcome);
		request.idempotency = outcome.claim;
	};
	const completeIdempotency = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
		const claim = request.idempotency;
		if (claim) {
			request.idempotency = null;
			const type = reply.getHeader("content-type");
			const body = typeof payload === "string" ? payload : String(payload ?? "");
			await completeIdempotencyKey(
				options.db,
				claim,
				reply.statusCode,
				withoutSecrets(body, request.routeOptions.config?.secretFields),
				typeof type === "string" ? type : null,
			).catch((error: unknown) => request.log.error({ err: error }, "could not store the idempotent response"));
		}
		return payload;
	};
	const locations = locationHeaders(routes);

	app.addHook("onRoute", (route) => {
		const access = routeAccess(route);
		const methods = Array.isArray(route.method) ? route.method : [route.method];
		// Only the reference UI's own routes go without a rule: a bare prefix test would also exempt
		// a future `/docs-admin`, and a route without a rule is answered unauthenticated.
		if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) return;
		if (!access) throw new Error(`route ${methods.join(",")} ${route.url} declares no access rule`);
		const answers = schemaName((route.schema?.response as Record<string, unknown> | undefined)?.["200"]);
		for (const method of methods) {
			if (method === "HEAD") continue;
			const record: RouteRecord = { method, url: route.url, access, operationId: route.schema?.operationId as string };
			if (method === "GET" && answers) record.answers = answers;
			routes.push(record);
		}
		decorateSchema(route, access, methods);
		// Steps only some routes need run on those routes alone, not as global hooks on every request.
		if (takesLimit(route.schema?.querystring)) appendRouteHook(route, "preHandler", pageSizeOf);
		if (methods.includes("POST")) {
			appendRouteHook(route, "preHandler", claimIdempotency);
			appendRouteHook(route, "onSend", completeIdempotency);
		}
		if (methods.some((method) => !readMethods.has(method))) appendRouteHook(route, "onSend", locations);
	});

	const specComponents = new SpecComponents();
	await app.register(swagger, {
		openapi: {
			openapi: "3.1.0",
			info: {
				title: options.title ?? "Igoudar API",
				version: "1.0.0",
				description:
					"Control plane of the Igoudar Dajla data centre: tenants, identity, quotas, compute and operations.",
				license: { name: "Apache-2.0", identifier: "Apache-2.0" },
			},
			servers: [
				{ url: options.config.publicUrl ?? "/", description: "This deployment (set IGOUDAR_PUBLIC_URL to name it)." },
			],
			tags: [{ name: "service", description: "Health, readiness, metrics and the spec." }, ...(options.tags ?? [])],
			components: {
				securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
			},
			security: [{ bearer: [] }],
		},
		refResolver: {
			buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
		},
		// The document is built once and cached; so are the named schemas it collects.
		transform: ({ schema, url }) => ({ schema: specComponents.transformRoute(schema) as FastifySchema, url }),
		transformObject: (document) =>
			"openapiObject" in document ? specComponents.finish(document.openapiObject) : document.swaggerObject,
	});
	const openapiDocument = options.openapiDocument;
	await app.register(swaggerUi, {
		routePrefix: DOCS_PREFIX,
		uiConfig: { deepLinking: true },
		// The reference shows the same document as /openapi.json (the merged one in split targets).
		...(openapiDocument
			? {
					transformSpecificationClone: false,
					transformSpecification: () => openapiDocument() as Record<string, unknown>,
				}
			: {}),
	});
	const addressLimits = options.rateLimit
		? await registerRateLimit(app as unknown as FastifyInstance, options.rateLimit)
		: undefined;

	const metrics = createMetrics();
	registerServiceEndpoints(app as unknown as FastifyInstance, options.probes, metrics.registry, {
		metricsToken: options.config.metricsToken,
		addressLimits,
	});
	app.get(
		"/openapi.json",
		{
			config: { access: { public: true } },
			schema: { summary: "The OpenAPI document", operationId: "openapiGet", tags: ["service"], hide: true },
		},
		async () => options.openapiDocument?.() ?? app.swagger(),
	);

	const admission = installAdmission(app, options.config.maxRequestsInFlight);
	app.addHook("onRequest", async (request, reply) => {
		reply.header("x-request-id", request.id);
		// Before authentication: a request refused at capacity costs no token check and no database.
		admission.admit(request);
		const access = request.routeOptions.config?.access;
		if (!access || "public" in access) return;
		try {
			request.principal = await options.authenticator.authenticate(request.headers.authorization);
		} catch (error) {
			// Counted per address, so guessing tokens (or a broken client) from one place is slowed.
			if (error instanceof ProblemError && error.code === "unauthenticated" && addressLimits) {
				throw (await addressLimits.failedAuthentication(request)) ?? error;
			}
			throw error;
		}
		// The request's own logger (a child Fastify made for it, which the reply shares) gains the
		// caller's fields: no second child a request. A logger without bindings gets a child.
		const caller = { tenant_id: request.principal.tenantId, principal_id: request.principal.id };
		const log = request.log as FastifyBaseLogger & { setBindings?(bindings: Record<string, unknown>): void };
		if (log.setBindings) log.setBindings(caller);
		else {
			request.log = request.log.child(caller);
			// Fastify logs the completion line through the reply's logger: give it the same fields.
			reply.log = request.log;
		}
	});

	const authorize = async (request: FastifyRequest): Promise<void> => {
		const access = request.routeOptions.config?.access;
		const principal = request.principal;
		if (!access || "public" in access || !principal) return;
		if (access.tenant && principal.role !== "operator") {
			const tenantId = (request.params as { tenant_id?: string }).tenant_id;
			if (tenantId !== principal.tenantId) throw problems.notFound("tenant");
		}
		if (ROLE_RANK[principal.role] < ROLE_RANK[access.role]) throw problems.forbidden();
		// Operators pass the scope check for any tenant id: one that does not exist is a 404 on
		// every tenant route alike, not an empty list on some and a 404 on others.
		if (access.tenant && principal.role === "operator") {
			const tenantId = (request.params as { tenant_id?: string }).tenant_id;
			if (tenantId && !(await tenantExists(options.db, tenantId))) throw problems.notFound("tenant");
		}
		if (!readMethods.has(request.method) && principal.tenantStatus === "suspended") {
			throw problems.forbidden("The tenant is suspended: its resources can be read but not changed.");
		}
	};
	// One hook for both checks (each global hook is a call on every request).
	app.addHook("preValidation", async (request) => {
		await authorize(request);
		// After authorization, so a caller learns nothing about a route it may not use. A route that
		// takes no body refuses one, as unknown fields are refused everywhere else. An unknown route
		// is not such a route: it answers 404 whatever it was sent.
		if (!request.is404 && !request.routeOptions.schema?.body && !isEmptyBody(request.body)) {
			throw problems.validation("This endpoint takes no request body.", [{ field: "body", message: "must be empty" }]);
		}
	});

	app.addHook("onResponse", requestRecorder(metrics));

	return { app, routes, metrics: metrics.registry };
}

/** Whether a route's query schema has the list `limit` parameter. */
function takesLimit(querystring: unknown): boolean {
	const properties = (querystring as { properties?: Record<string, unknown> } | undefined)?.properties;
	return properties !== undefined && "limit" in properties;
}

function isEmptyBody(body: unknown): boolean {
	if (body === undefined || body === null || body === "") return true;
	return typeof body === "object" && !Array.isArray(body) && Object.keys(body as object).length === 0;
}

async function tenantExists(db: Db, id: string): Promise<boolean> {
	// A malformed id is left to the params schema, which answers 400.
	if (!isUuid(id)) return true;
	const [row] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).limit(1);
	return row !== undefined;
}

/** The response as it may be stored: a secret is returned once and never persisted in clear. */
function withoutSecrets(body: string, secretFields: string[] | undefined): string {
	if (!secretFields?.length) return body;
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch {
		return body;
	}
	if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return body;
	const kept = { ...(parsed as Record<string, unknown>) };
	for (const field of secretFields) delete kept[field];
	return JSON.stringify(kept);
}

/** Adds the error answers and security every route of its kind can give, so no route forgets. */
function decorateSchema(route: RouteOptions, access: Access, methods: string[]): void {
	route.schema ??= {};
	const schema = route.schema as Record<string, unknown>;
	// Node answers an over-long URL or header block (431) and a request not received in time (408)
	// before any route is known, so any route can get them.
	const codes: ProblemCode[] = ["request_timeout", "headers_too_large", "internal", "unavailable"];
	// Fastify parses a body on these methods (never on GET): too large or not JSON is answered first.
	if (methods.some((method) => BODY_METHODS.has(method))) codes.push("payload_too_large", "unsupported_media_type");
	describeAccess(schema, access);
	// The spec says what strictValidatorCompiler enforces: no NUL or lone surrogate in any string.
	for (const part of ["body", "querystring", "params"]) documentTextRule(schema[part]);
	if ("public" in access) {
		schema.security = [];
		if (route.url === TOKEN_ROUTE) codes.push("rate_limited");
	} else {
		codes.push("unauthenticated", "forbidden", "rate_limited");
		if (access.tenant) codes.push("not_found");
		if (methods.includes("POST")) {
			codes.push("idempotency_key_in_use", "idempotency_key_reused");
			// Declared so the spec and the SDK know the header; the kit reads it in preHandler.
			schema.headers ??= IdempotencyHeaders;
		}
	}
	// A route that takes nothing (no path, query, header or body) has nothing to refuse as 400.
	if (["params", "querystring", "headers", "body"].some((part) => schema[part])) codes.unshift("validation_failed");
	schema.response ??= {};
	const response = schema.response as Record<string, unknown>;
	for (const [status, body] of Object.entries(errorResponses(...codes))) {
		const existing = response[status] as { description?: unknown } | undefined;
		const added = (body as { description: string }).description;
		if (!existing) {
			response[status] = body;
		} else if (typeof existing.description === "string" && !existing.description.includes(added)) {
			// Two codes share a status (409 conflict and idempotency_key_in_use): name both.
			existing.description = `${existing.description}, ${added}`;
		}
	}
}

export { PROBLEM_SCHEMA_ID, ProblemError };
