import { paginate } from "../paginate.js";
import type {
	QueryOf,
	Snapshot,
	SnapshotCreate,
	StoragePool,
	StoragePoolCreate,
	StoragePoolUpdate,
	Volume,
	VolumeAttach,
	VolumeCreate,
	VolumeResize,
} from "../types.js";
import { unwrap } from "../unwrap.js";
import { settle, type WaitFlag } from "../wait.js";
import { type CallOptions, type Context, headers } from "./context.js";

type Call = CallOptions & WaitFlag;

export function volumes({ client }: Context) {
	const at = (tenantId: string, volumeId: string) => ({ tenant_id: tenantId, volume_id: volumeId });
	const get = (tenantId: string, volumeId: string, options?: CallOptions): Promise<Volume> =>
		unwrap(
			client.GET("/v1/tenants/{tenant_id}/volumes/{volume_id}", {
				params: { path: at(tenantId, volumeId) },
				signal: options?.signal,
			}),
		);
	return {
		async create(tenantId: string, body: VolumeCreate, options?: Call) {
			const answer = await unwrap(
				client.POST("/v1/tenants/{tenant_id}/volumes", {
					params: { path: { tenant_id: tenantId } },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			);
			const settled = await settle(client, tenantId, answer, options);
			return options?.wait ? { ...settled, volume: await get(tenantId, answer.volume.id, options) } : settled;
		},
		get,
		list: (tenantId: string, query: Omit<QueryOf<"volumeList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/volumes", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: async (tenantId: string, volumeId: string, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.DELETE("/v1/tenants/{tenant_id}/volumes/{volume_id}", {
						params: { path: at(tenantId, volumeId) },
						signal: options?.signal,
					}),
				),
				options,
			),
		resize: async (tenantId: string, volumeId: string, body: VolumeResize, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.POST("/v1/tenants/{tenant_id}/volumes/{volume_id}/resize", {
						params: { path: at(tenantId, volumeId) },
						body,
						headers: headers(options),
						signal: options?.signal,
					}),
				),
				options,
			),
		attach: async (tenantId: string, volumeId: string, body: VolumeAttach, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.POST("/v1/tenants/{tenant_id}/volumes/{volume_id}/attach", {
						params: { path: at(tenantId, volumeId) },
						body,
						headers: headers(options),
						signal: options?.signal,
					}),
				),
				options,
			),
		detach: async (tenantId: string, volumeId: string, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.POST("/v1/tenants/{tenant_id}/volumes/{volume_id}/detach", {
						params: { path: at(tenantId, volumeId) },
						headers: headers(options),
						signal: options?.signal,
					}),
				),
				options,
			),
	};
}

export function snapshots({ client }: Context) {
	const at = (tenantId: string, snapshotId: string) => ({ tenant_id: tenantId, snapshot_id: snapshotId });
	return {
		/** A full copy of the volume on its pool; it outlives the volume. */
		create: async (tenantId: string, volumeId: string, body: SnapshotCreate, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.POST("/v1/tenants/{tenant_id}/volumes/{volume_id}/snapshots", {
						params: { path: { tenant_id: tenantId, volume_id: volumeId } },
						body,
						headers: headers(options),
						signal: options?.signal,
					}),
				),
				options,
			),
		get: (tenantId: string, snapshotId: string, options?: CallOptions): Promise<Snapshot> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/snapshots/{snapshot_id}", {
					params: { path: at(tenantId, snapshotId) },
					signal: options?.signal,
				}),
			),
		list: (tenantId: string, query: Omit<QueryOf<"snapshotList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/snapshots", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: async (tenantId: string, snapshotId: string, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.DELETE("/v1/tenants/{tenant_id}/snapshots/{snapshot_id}", {
						params: { path: at(tenantId, snapshotId) },
						signal: options?.signal,
					}),
				),
				options,
			),
	};
}

export function storagePools({ client }: Context) {
	const at = (poolId: string) => ({ pool_id: poolId });
	return {
		create: (body: StoragePoolCreate, options?: CallOptions): Promise<StoragePool> =>
			unwrap(client.POST("/v1/storage-pools", { body, headers: headers(options), signal: options?.signal })),
		get: (poolId: string, options?: CallOptions): Promise<StoragePool> =>
			unwrap(client.GET("/v1/storage-pools/{pool_id}", { params: { path: at(poolId) }, signal: options?.signal })),
		update: (poolId: string, body: StoragePoolUpdate, options?: CallOptions): Promise<StoragePool> =>
			unwrap(
				client.PATCH("/v1/storage-pools/{pool_id}", { params: { path: at(poolId) }, body, signal: options?.signal }),
			),
		list: (query: Omit<QueryOf<"storagePoolList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/storage-pools", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: (poolId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/storage-pools/{pool_id}", { params: { path: at(poolId) }, signal: options?.signal }),
			).then(() => undefined),
	};
}
