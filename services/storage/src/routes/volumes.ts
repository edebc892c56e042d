import { type App, contextOf, errorResponses, Page, pageRequest, TenantParams } from "@igoudar/kit";
import { volumeAttach, volumeDetach, volumeResize } from "../app/volume-actions";
import { volumeCreate, volumeDelete, volumeGet, volumeList } from "../app/volumes";
import type { StorageDeps } from "../deps";
import {
	OperationAccepted,
	VolumeAttachBody,
	VolumeCreateBody,
	VolumeCreated,
	VolumeListQuery,
	VolumeParams,
	VolumeResizeBody,
	VolumeSchema,
} from "./volume-schemas";

const tags = ["volumes"];
const write = { role: "member", tenant: true } as const;
const read = { role: "viewer", tenant: true } as const;

export async function volumeRoutes(app: App, deps: StorageDeps): Promise<void> {
	app.post(
		"/v1/tenants/:tenant_id/volumes",
		{
			config: { access: write },
			schema: {
				summary: "Create a volume, empty or restored from a snapshot",
				description:
					"Quota (`volumes`, `volume_gib`) and pool space are claimed before the 202, on the enabled pool with " +
					"the most free space in the zone and class asked for, else in any zone the tenant's data residency " +
					"allows and any class. With `snapshot_id` the volume is made in the snapshot's zone and class, at " +
					"least as large as the snapshot. The operation then makes the volume or fails and gives everything back.",
				operationId: "volumeCreate",
				tags,
				params: TenantParams,
				body: VolumeCreateBody,
				response: {
					202: VolumeCreated,
					...errorResponses("not_found", "conflict", "invalid_state", "quota_exceeded", "no_capacity"),
				},
			},
		},
		async (request, reply) =>
			reply
				.code(202)
				.send(await volumeCreate(contextOf(request, deps.db), deps, request.params.tenant_id, request.body)),
	);

	app.get(
		"/v1/tenants/:tenant_id/volumes",
		{
			config: { access: read },
			schema: {
				summary: "List volumes",
				operationId: "volumeList",
				tags,
				params: TenantParams,
				querystring: VolumeListQuery,
				response: { 200: Page(VolumeSchema) },
			},
		},
		async (request) => {
			const { status, zone, instance_id } = request.query;
			return volumeList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query), {
				status,
				zone,
				instance_id,
			});
		},
	);

	app.get(
		"/v1/tenants/:tenant_id/volumes/:volume_id",
		{
			config: { access: read },
			schema: {
				summary: "Get a volume",
				operationId: "volumeGet",
				tags,
				params: VolumeParams,
				response: { 200: VolumeSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => volumeGet(contextOf(request, deps.db), request.params.tenant_id, request.params.volume_id),
	);

	app.delete(
		"/v1/tenants/:tenant_id/volumes/:volume_id",
		{
			config: { access: write },
			schema: {
				summary: "Delete a volume that is not attached",
				description:
					"409 invalid_state while the volume is attached (or attaching or detaching) or a snapshot of it is " +
					"still being taken. A volume still being created or resized is accepted: that operation is cancelled " +
					"and rolled back first. The volume's snapshots are full copies and are kept: they hold their own " +
					"quota and space until deleted themselves, and can still be restored.",
				operationId: "volumeDelete",
				tags,
				params: VolumeParams,
				response: { 202: OperationAccepted, ...errorResponses("not_found", "invalid_state") },
			},
		},
		async (request, reply) => {
			reply.code(202);
			return volumeDelete(contextOf(request, deps.db), deps, request.params.tenant_id, request.params.volume_id);
		},
	);

	app.post(
		"/v1/tenants/:tenant_id/volumes/:volume_id/resize",
		{
			config: { access: write },
			schema: {
				summary: "Grow a volume",
				description:
					"Only growing is allowed (a size not larger than the current one is 400). The difference is claimed " +
					"before the 202 on the `volume_gib` quota (422) and on the volume's pool (503). Allowed from " +
					"available or in_use; the volume is resizing until the operation ends.",
				operationId: "volumeResize",
				tags,
				params: VolumeParams,
				body: VolumeResizeBody,
				response: {
					202: OperationAccepted,
					...errorResponses("not_found", "invalid_state", "quota_exceeded", "no_capacity"),
				},
			},
		},
		async (request, reply) => {
			reply.code(202);
			const { tenant_id, volume_id } = request.params;
			return volumeResize(contextOf(request, deps.db), deps, tenant_id, volume_id, request.body);
		},
	);

	app.post(
		"/v1/tenants/:tenant_id/volumes/:volume_id/attach",
		{
			config: { access: write },
			schema: {
				summary: "Attach an available volume to an instance",
				description:
					"The instance must be the tenant's (else 404), in the volume's zone (else 400 validation_failed: " +
					"the pairing can never work) and running or stopped (else 409 invalid_state). Of parallel attaches " +
					"of one volume exactly one is accepted; the others answer 409 invalid_state.",
				operationId: "volumeAttach",
				tags,
				params: VolumeParams,
				body: VolumeAttachBody,
				response: { 202: OperationAccepted, ...errorResponses("not_found", "invalid_state") },
			},
		},
		async (request, reply) => {
			reply.code(202);
			const { tenant_id, volume_id } = request.params;
			return volumeAttach(contextOf(request, deps.db), deps, tenant_id, volume_id, request.body);
		},
	);

	app.post(
		"/v1/tenants/:tenant_id/volumes/:volume_id/detach",
		{
			config: { access: write },
			schema: {
				summary: "Detach a volume from its instance",
				description: "Allowed from in_use; the volume is available again when the operation ends.",
				operationId: "volumeDetach",
				tags,
				params: VolumeParams,
				response: { 202: OperationAccepted, ...errorResponses("not_found", "invalid_state") },
			},
		},
		async (request, reply) => {
			reply.code(202);
			return volumeDetach(contextOf(request, deps.db), deps, request.params.tenant_id, request.params.volume_id);
		},
	);
}
