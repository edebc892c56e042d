import { SNAPSHOT_STATUSES, VOLUME_STATUSES } from "@igoudar/db";
import { OperationSchema } from "@igoudar/jobs";
import { ListQuery, NAME_PATTERN, Name, Nullable, namedSchema, resourceSchema, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";

/** The largest volume: 64 TiB. Keeps every pool and quota sum far inside Postgres `integer`. */
export const MAX_VOLUME_GIB = 65_536;

export const StorageClass = (
	description = "Storage class, as the operators name their pools' classes (e.g. `ssd`, `hdd`).",
) => Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 63, description });

const Size = (description: string) => Type.Integer({ minimum: 1, maximum: MAX_VOLUME_GIB, description });

export const VolumeStatusSchema = Type.Unsafe<(typeof VOLUME_STATUSES)[number]>({
	type: "string",
	enum: [...VOLUME_STATUSES],
});

export const SnapshotStatusSchema = Type.Unsafe<(typeof SNAPSHOT_STATUSES)[number]>({
	type: "string",
	enum: [...SNAPSHOT_STATUSES],
});

export const VolumeSchema = resourceSchema(
	"Volume",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			size_gib: Type.Integer(),
			zone: Nullable(Type.String({ description: "Zone name." })),
			storage_class: Type.String(),
			status: VolumeStatusSchema,
			instance_id: Nullable(Uuid("The instance the volume is attached (or being attached) to.")),
			source_snapshot_id: Nullable(Uuid("The snapshot the volume was restored from.")),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false, description: "A block storage volume." },
	),
	{
		id: "0193a5d1-4e5f-7a60-9b71-8c9d0e1f2a3b",
		name: "shop-db",
		size_gib: 100,
		zone: "dakhla-1",
		storage_class: "ssd",
		status: "in_use",
		instance_id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
		source_snapshot_id: null,
		created_at: "2026-11-21T10:05:00Z",
		updated_at: "2026-11-21T10:06:12Z",
	},
);

export const SnapshotSchema = resourceSchema(
	"Snapshot",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			volume_id: Uuid("The volume it was taken from; that volume may since have been deleted."),
			size_gib: Type.Integer(),
			zone: Nullable(Type.String({ description: "Zone name." })),
			storage_class: Type.String(),
			status: SnapshotStatusSchema,
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{
			additionalProperties: false,
			description:
				"A full point-in-time copy of a volume, on the volume's pool. It outlives its volume and can be restored.",
		},
	),
	{
		id: "0193a5e8-5f60-7b71-8c82-9d0e1f2a3b4c",
		name: "shop-db-nightly",
		volume_id: "0193a5d1-4e5f-7a60-9b71-8c9d0e1f2a3b",
		size_gib: 100,
		zone: "dakhla-1",
		storage_class: "ssd",
		status: "available",
		created_at: "2026-11-22T02:00:00Z",
		updated_at: "2026-11-22T02:03:30Z",
	},
);

export const VolumeCreateBody = namedSchema(
	"VolumeCreate",
	Type.Object(
		{
			name: Name("Unique among the tenant's volumes."),
			size_gib: Size("Size in GiB; with snapshot_id, at least the snapshot's size."),
			zone: Type.Optional(
				Type.String({
					minLength: 1,
					maxLength: 63,
					description: "Zone name or id; if absent, any zone the tenant's data residency allows.",
				}),
			),
			storage_class: Type.Optional(
				StorageClass("Storage class; if absent, any class: the pool with the most free space wins."),
			),
			snapshot_id: Type.Optional(
				Uuid("Restore: the volume starts as a copy of this snapshot, in the snapshot's zone and class."),
			),
		},
		{ additionalProperties: false },
	),
	{ name: "shop-db", size_gib: 100, zone: "dakhla-1", storage_class: "ssd" },
);

export const VolumeResizeBody = namedSchema(
	"VolumeResize",
	Type.Object(
		{ size_gib: Size("The new size, larger than the current one (volumes only grow).") },
		{ additionalProperties: false },
	),
	{ size_gib: 200 },
);

export const VolumeAttachBody = namedSchema(
	"VolumeAttach",
	Type.Object(
		{ instance_id: Uuid("A running or stopped instance of the tenant in the volume's zone.") },
		{ additionalProperties: false },
	),
	{ instance_id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60" },
);

export const SnapshotCreateBody = namedSchema(
	"SnapshotCreate",
	Type.Object({ name: Name("Unique among the tenant's snapshots.") }, { additionalProperties: false }),
	{ name: "shop-db-nightly" },
);

export const VolumeCreated = namedSchema(
	"VolumeAccepted",
	Type.Object({ volume: VolumeSchema, operation: OperationSchema }, { additionalProperties: false }),
);

export const SnapshotCreated = namedSchema(
	"SnapshotAccepted",
	Type.Object({ snapshot: SnapshotSchema, operation: OperationSchema }, { additionalProperties: false }),
);

export const OperationAccepted = namedSchema(
	"OperationAccepted",
	Type.Object({ operation: OperationSchema }, { additionalProperties: false }),
);

export const VolumeParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), volume_id: Uuid("Volume id.") },
	{ additionalProperties: false },
);

export const SnapshotParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), snapshot_id: Uuid("Snapshot id.") },
	{ additionalProperties: false },
);

export const VolumeListQuery = Type.Object(
	{
		...ListQuery.properties,
		status: Type.Optional(VolumeStatusSchema),
		zone: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." })),
		instance_id: Type.Optional(Uuid("Only volumes attached (or being attached) to this instance.")),
	},
	{ additionalProperties: false },
);

export const SnapshotListQuery = Type.Object(
	{
		...ListQuery.properties,
		volume_id: Type.Optional(Uuid("Only snapshots taken from this volume.")),
	},
	{ additionalProperties: false },
);
