import type {
	SnapshotCreate,
	StoragePoolCreate,
	StoragePoolUpdate,
	VolumeAttach,
	VolumeCreate,
	VolumeResize,
} from "@igoudar/sdk";
import type { Action, Resource } from "../table.js";
import { standard, waitFlag } from "../table.js";

const VOLUME_STATUS = ["creating", "available", "attaching", "in_use", "detaching", "resizing", "deleting", "failed"];

function volumeAction(name: string, summary: string, run: Action["run"], extra: Partial<Action> = {}): Action {
	return { name, summary, args: ["<volume>"], wait: true, ...extra, run };
}

export const storage: Resource[] = [
	{
		name: "storage-pools",
		summary: "Block storage pools, one per zone and class (operators)",
		columns: ["id", "name", "zone", "storage_class", "status", "capacity_gib", "allocated_gib", "free_gib"],
		actions: [
			standard.list("List storage pools", ({ client }, query) => client.storagePools.list(query), {
				query: [
					{ key: "zone", help: "only in this zone" },
					{ key: "storage_class", help: "only of this class" },
					{ key: "status", type: ["enabled", "disabled"], help: "only in this state" },
				],
			}),
			standard.get("storage pool", ({ client }, id) => client.storagePools.get(id)),
			standard.create(
				"storage pool",
				[
					{ key: "name", required: true, help: "unique name", example: "dakhla-1-ssd" },
					{ key: "zone", required: true, help: "zone name", example: "dakhla-1" },
					{ key: "storage_class", required: true, help: "class volumes ask for", example: "ssd" },
					{ key: "capacity_gib", type: "int", required: true, help: "capacity in GiB", example: "10000" },
					{ key: "overcommit_ratio", type: "number", help: "GiB sold per GiB" },
					{ key: "driver", type: ["simulated", "local"], help: "data-plane driver" },
				],
				({ client, body }) => client.storagePools.create(body as StoragePoolCreate),
			),
			{
				name: "update",
				summary: "Grow a pool, change its overcommit, or disable it for new volumes",
				args: ["<storage-pool>"],
				body: [
					{ key: "capacity_gib", type: "int", help: "capacity in GiB" },
					{ key: "overcommit_ratio", type: "number", help: "GiB sold per GiB" },
					{ key: "status", type: ["enabled", "disabled"], help: "disabled: no new volumes" },
				],
				examples: ["igoudar storage-pools update 3c2d... --capacity-gib 20000"],
				run: ({ client, args, body }) => client.storagePools.update(args[0] ?? "", body as StoragePoolUpdate),
			},
			standard.delete("storage pool", ({ client }, id) => client.storagePools.delete(id)),
		],
	},
	{
		name: "volumes",
		summary: "A tenant's block volumes",
		columns: ["id", "name", "status", "size_gib", "storage_class", "zone", "instance_id"],
		actions: [
			standard.list("List the tenant's volumes", (c, query) => c.client.volumes.list(c.tenant(), query), {
				query: [
					{ key: "status", type: VOLUME_STATUS, help: "only in this state" },
					{ key: "zone", help: "only in this zone" },
					{ key: "instance_id", flag: "instance", help: "only attached to this instance" },
				],
			}),
			standard.get("volume", (c, id) => c.client.volumes.get(c.tenant(), id)),
			standard.create(
				"volume (quota and pool room are claimed before the answer)",
				[
					{ key: "name", required: true, help: "name", example: "data-1" },
					{ key: "size_gib", type: "int", required: true, help: "size in GiB", example: "10" },
					{ key: "storage_class", help: "class (default: the zone's first)" },
					{ key: "zone", help: "zone name" },
					{ key: "snapshot_id", flag: "snapshot", help: "restore from this snapshot" },
				],
				(c) => c.client.volumes.create(c.tenant(), c.body as VolumeCreate, waitFlag(c)),
				{ wait: true, examples: ["igoudar volumes create --name data-1 --size-gib 10 --wait"] },
			),
			volumeAction(
				"attach",
				"Attach to an instance in the same zone",
				(c) => c.client.volumes.attach(c.tenant(), c.args[0] ?? "", c.body as VolumeAttach, waitFlag(c)),
				{
					body: [{ key: "instance_id", flag: "instance", required: true, help: "instance id", example: "<instance>" }],
					examples: ["igoudar volumes attach 9b8a... --instance 1f2e... --wait"],
				},
			),
			volumeAction("detach", "Detach from its instance", (c) =>
				c.client.volumes.detach(c.tenant(), c.args[0] ?? "", waitFlag(c)),
			),
			volumeAction(
				"resize",
				"Grow a volume",
				(c) => c.client.volumes.resize(c.tenant(), c.args[0] ?? "", c.body as VolumeResize, waitFlag(c)),
				{ body: [{ key: "size_gib", type: "int", required: true, help: "new size in GiB", example: "20" }] },
			),
			standard.delete("volume", (c, id) => c.client.volumes.delete(c.tenant(), id, waitFlag(c)), { wait: true }),
		],
	},
	{
		name: "snapshots",
		summary: "A tenant's volume snapshots (full copies that outlive their volume)",
		columns: ["id", "name", "status", "size_gib", "volume_id", "zone", "created_at"],
		actions: [
			standard.list("List the tenant's snapshots", (c, query) => c.client.snapshots.list(c.tenant(), query), {
				query: [{ key: "volume_id", flag: "volume", help: "only of this volume" }],
			}),
			standard.get("snapshot", (c, id) => c.client.snapshots.get(c.tenant(), id)),
			{
				name: "create",
				summary: "Snapshot a volume",
				args: ["<volume>"],
				body: [{ key: "name", required: true, help: "name", example: "before-upgrade" }],
				wait: true,
				run: (c) => c.client.snapshots.create(c.tenant(), c.args[0] ?? "", c.body as SnapshotCreate, waitFlag(c)),
			},
			standard.delete("snapshot", (c, id) => c.client.snapshots.delete(c.tenant(), id, waitFlag(c)), { wait: true }),
		],
	},
];
