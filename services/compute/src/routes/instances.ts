import { type App, contextOf, errorResponses, Page, pageRequest, TenantParams } from "@igoudar/kit";
import type { FastifyRequest } from "fastify";
import type { Static } from "typebox";
import { InstanceCreates } from "../app/instance-creates";
import type { InstanceAction } from "../app/instances";
import { instanceAction, instanceGet, instanceList } from "../app/instances";
import type { ComputeDeps } from "../deps";
import {
	InstanceCreateBody,
	InstanceCreated,
	InstanceListQuery,
	InstanceParams,
	InstanceSchema,
	OperationAccepted,
} from "./instance-schemas";

const tags = ["instances"];

export async function instanceRoutes(app: App, deps: ComputeDeps): Promise<void> {
	// Creates that arrive together commit together (see InstanceCreates).
	const creates = new InstanceCreates(deps);
	/** Delete, start, stop and reboot share one shape: a status transition that starts an operation. */
	const runAction =
		(action: InstanceAction) =>
		async (
			request: FastifyRequest & { params: Static<typeof InstanceParams> },
			reply: { code(status: number): unknown },
		) => {
			reply.code(202);
			return instanceAction(
				contextOf(request, deps.db),
				deps,
				request.params.tenant_id,
				request.params.instance_id,
				action,
			);
		};

	app.post(
		"/v1/tenants/:tenant_id/instances",
		{
			config: { access: { role: "member", tenant: true } },
			schema: {
				summary: "Create an instance",
				description:
					"Quota and host capacity are claimed before the 202; the operation then provisions the instance or fails and gives everything back.",
				operationId: "instanceCreate",
				tags,
				params: TenantParams,
				body: InstanceCreateBody,
				response: { 202: InstanceCreated, ...errorResponses("conflict", "quota_exceeded", "no_capacity") },
			},
		},
		async (request, reply) =>
			reply.code(202).send(await creates.create(contextOf(request, deps.db), request.params.tenant_id, request.body)),
	);

	app.get(
		"/v1/tenants/:tenant_id/instances",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "List instances",
				operationId: "instanceList",
				tags,
				params: TenantParams,
				querystring: InstanceListQuery,
				response: { 200: Page(InstanceSchema) },
			},
		},
		async (request) =>
			instanceList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query), {
				status: request.query.status,
			}),
	);

	app.get(
		"/v1/tenants/:tenant_id/instances/:instance_id",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get an instance",
				operationId: "instanceGet",
				tags,
				params: InstanceParams,
				response: { 200: InstanceSchema },
			},
		},
		async (request) => instanceGet(contextOf(request, deps.db), request.params.tenant_id, request.params.instance_id),
	);

	app.delete(
		"/v1/tenants/:tenant_id/instances/:instance_id",
		{
			config: { access: { role: "member", tenant: true } },
			schema: {
				summary: "Delete an instance",
				operationId: "instanceDelete",
				tags,
				params: InstanceParams,
				response: { 202: OperationAccepted, ...errorResponses("invalid_state") },
			},
		},
		runAction("delete"),
	);

	const actions: { action: Exclude<InstanceAction, "delete">; summary: string; operationId: string }[] = [
		{ action: "start", summary: "Start a stopped instance", operationId: "instanceStart" },
		{ action: "stop", summary: "Stop a running instance", operationId: "instanceStop" },
		{ action: "reboot", summary: "Reboot a running instance", operationId: "instanceReboot" },
	];
	for (const { action, summary, operationId } of actions) {
		app.post(
			`/v1/tenants/:tenant_id/instances/:instance_id/${action}`,
			{
				config: { access: { role: "member", tenant: true } },
				schema: {
					summary,
					operationId,
					tags,
					params: InstanceParams,
					response: { 202: OperationAccepted, ...errorResponses("invalid_state") },
				},
			},
			runAction(action),
		);
	}
}
