import { defineCatalog, defineJob } from "@igoudar/jobs";
import { type TObject, Type } from "typebox";

const VolumePayload = Type.Object({ volume_id: Type.String({ format: "uuid" }) }, { additionalProperties: false });
const SnapshotPayload = Type.Object({ snapshot_id: Type.String({ format: "uuid" }) }, { additionalProperties: false });
/**
 * A resize has claimed the difference and set the new size before it is queued; the sizes travel
 * with the job so that a failed resize can give back exactly the difference and the old size.
 */
const ResizePayload = Type.Object(
	{
		volume_id: Type.String({ format: "uuid" }),
		from_size_gib: Type.Integer({ minimum: 1 }),
		to_size_gib: Type.Integer({ minimum: 1 }),
	},
	{ additionalProperties: false },
);

/** As for compute: the saga runner decides each retry; `attempts` only caps deliveries. */
const retry = { attempts: 1_000, backoff: { type: "requested" as const, delay: 1_000 } };
const job = <const Name extends string, Payload extends TObject>(name: Name, payload: Payload) =>
	defineJob({ name, queue: "storage", payload, ...retry });

/**
 * Every storage job carries the id of the one resource it changes and nothing else: the saga
 * reads the rest (size, pool, the instance of an attach) from the row, as it is when it runs.
 */
export const storageJobs = defineCatalog({
	"volume.create": job("volume.create", VolumePayload),
	"volume.delete": job("volume.delete", VolumePayload),
	"volume.resize": job("volume.resize", ResizePayload),
	"volume.attach": job("volume.attach", VolumePayload),
	"volume.detach": job("volume.detach", VolumePayload),
	"snapshot.create": job("snapshot.create", SnapshotPayload),
	"snapshot.delete": job("snapshot.delete", SnapshotPayload),
});

export type StorageJobName = keyof typeof storageJobs;
