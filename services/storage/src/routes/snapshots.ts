import { type App, contextOf, errorResponses, Page, pageRequest, TenantParams } from "@igoudar/kit";
import { snapshotCreate, snapshotDelete, snapshotGet, snapshotList } from "../app/snapshots";
import type { StorageDeps } from "../deps";
import {
	OperationAccepted,
	SnapshotCreateBody,
	SnapshotCreated,
	SnapshotListQuery,
	SnapshotParams,
	SnapshotSchema,
	VolumeParams,
} from "./volume-schemas";

const tags = ["snapshots"];
const write = { role: "member", tenant: true } as const;
const read = { role: "viewer", tenant: true } as const;

export async function snapshotRoutes(app: App, deps: StorageDeps): Promise<void> {
	app.post(
		"/v1/tenants/:tenant_id/volumes/:volume_id/snapshots",
		{
			config: { access: write },
			schema: {
				summary: "Take a snapshot of a volume",
				description:
					"Allowed while the volume is available or in_use. The `snapshots` quota (422) and the volume's size " +
					"on the volume's own pool (503 when it has no room or is disabled) are claimed before the 202. A " +
					"snapshot is a full copy: it outlives the volume, which may be deleted while its snapshots are kept.",
				operationId: "snapshotCreate",
				tags,
				params: VolumeParams,
				body: SnapshotCreateBody,
				response: {
					202: SnapshotCreated,
					...errorResponses("not_found", "conflict", "invalid_state", "quota_exceeded", "no_capacity"),
				},
			},
		},
		async (request, reply) => {
			const { tenant_id, volume_id } = request.params;
			const created = await snapshotCreate(contextOf(request, deps.db), deps, tenant_id, volume_id, request.body);
			return reply.code(202).send(created);
		},
	);

	app.get(
		"/v1/tenants/:tenant_id/snapshots",
		{
			config: { access: read },
			schema: {
				summary: "List snapshots",
				operationId: "snapshotList",
				tags,
				params: TenantParams,
				querystring: SnapshotListQuery,
				response: { 200: Page(SnapshotSchema) },
			},
		},
		async (request) =>
			snapshotList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query), {
				volume_id: request.query.volume_id,
			}),
	);

	app.get(
		"/v1/tenants/:tenant_id/snapshots/:snapshot_id",
		{
			config: { access: read },
			schema: {
				summary: "Get a snapshot",
				operationId: "snapshotGet",
				tags,
				params: SnapshotParams,
				response: { 200: SnapshotSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => snapshotGet(contextOf(request, deps.db), request.params.tenant_id, request.params.snapshot_id),
	);

	app.delete(
		"/v1/tenants/:tenant_id/snapshots/:snapshot_id",
		{
			config: { access: write },
			schema: {
				summary: "Delete a snapshot",
				description:
					"Allowed whatever became of its volume. A snapshot still being taken is accepted (that operation is " +
					"cancelled first); 409 invalid_state while a volume is still being restored from it.",
				operationId: "snapshotDelete",
				tags,
				params: SnapshotParams,
				response: { 202: OperationAccepted, ...errorResponses("not_found", "invalid_state") },
			},
		},
		async (request, reply) => {
			reply.code(202);
			return snapshotDelete(contextOf(request, deps.db), deps, request.params.tenant_id, request.params.snapshot_id);
		},
	);
}
