import type {
	FlavorCreate,
	HostCreate,
	HostUpdate,
	InstanceCreate,
	PlacementGroupCreate,
	ZoneCreate,
} from "@igoudar/sdk";
import type { Action, Resource } from "../table.js";
import { standard, waitFlag } from "../table.js";

const POWER = [
	{ key: "power_idle_w", type: "int", nullable: true, help: "draw when idle, in watts (energy estimates)" },
	{ key: "power_max_w", type: "int", nullable: true, help: "draw at full load, in watts" },
] as const;
const EMBODIED = [
	{ key: "embodied_kgco2e", type: "int", nullable: true, help: "manufacturing carbon, in kgCO2e (energy reports)" },
	{ key: "lifetime_years", type: "int", nullable: true, help: "years its embodied carbon is spread over" },
] as const;
const RATIOS = [
	{ key: "cpu_allocation_ratio", type: "number", help: "vCPUs sold per core" },
	{ key: "memory_allocation_ratio", type: "number", help: "memory sold per MiB" },
] as const;

/** start, stop and reboot: the same shape, with `--wait`. */
function instanceAction(verb: "start" | "stop" | "reboot", summary: string): Action {
	return {
		name: verb,
		summary,
		args: ["<instance>"],
		wait: true,
		run: (c) => c.client.instances[verb](c.tenant(), c.args[0] ?? "", waitFlag(c)),
	};
}

export const compute: Resource[] = [
	{
		name: "zones",
		summary: "Availability zones and the jurisdiction each is under (operators)",
		columns: ["id", "name", "jurisdiction", "created_at"],
		actions: [
			standard.list("List zones", ({ client }, query) => client.zones.list(query)),
			standard.get("zone", ({ client }, id) => client.zones.get(id)),
			standard.create(
				"zone",
				[
					{ key: "name", required: true, help: "unique name", example: "dakhla-1" },
					{ key: "jurisdiction", required: true, help: "ISO 3166 country code of its law", example: "MA" },
				],
				({ client, body }) => client.zones.create(body as ZoneCreate),
			),
			standard.delete("zone", ({ client }, id) => client.zones.delete(id)),
		],
	},
	{
		name: "hosts",
		summary: "Hypervisor hosts: capacity, allocation and power profile (operators)",
		columns: ["id", "name", "zone", "status", "vcpus", "memory_mib", "allocated.instances", "estimated_power_w"],
		actions: [
			standard.list("List hosts", ({ client }, query) => client.hosts.list(query), {
				query: [
					{ key: "zone", help: "only in this zone" },
					{ key: "status", type: ["enabled", "disabled"], help: "only in this state" },
				],
			}),
			standard.get("host", ({ client }, id) => client.hosts.get(id)),
			standard.create(
				"host",
				[
					{ key: "name", required: true, help: "unique name", example: "hv-001" },
					{ key: "zone", required: true, help: "zone name", example: "dakhla-1" },
					{ key: "vcpus", type: "int", required: true, help: "physical cores", example: "64" },
					{ key: "memory_mib", type: "int", required: true, help: "memory in MiB", example: "262144" },
					{ key: "disk_gib", type: "int", required: true, help: "local disk in GiB", example: "4000" },
					...POWER,
					...EMBODIED,
					...RATIOS,
				],
				({ client, body }) => client.hosts.create(body as HostCreate),
			),
			{
				name: "update",
				summary: "Drain (disable) or enable a host, change its ratios or power profile",
				args: ["<host>"],
				body: [
					{ key: "status", type: ["enabled", "disabled"], help: "disabled: no new placements" },
					...POWER,
					...EMBODIED,
					...RATIOS,
				],
				examples: ["igoudar hosts update 7a1b... --status disabled"],
				run: ({ client, args, body }) => client.hosts.update(args[0] ?? "", body as HostUpdate),
			},
			standard.delete("host", ({ client }, id) => client.hosts.delete(id)),
		],
	},
	{
		name: "flavors",
		summary: "Instance sizes (operators create them, everyone reads them)",
		columns: ["id", "name", "vcpus", "memory_mib", "disk_gib"],
		actions: [
			standard.list("List flavors", ({ client }, query) => client.flavors.list(query)),
			standard.get("flavor", ({ client }, id) => client.flavors.get(id)),
			standard.create(
				"flavor",
				[
					{ key: "name", required: true, help: "unique name", example: "c2-m4" },
					{ key: "vcpus", type: "int", required: true, help: "vCPUs", example: "2" },
					{ key: "memory_mib", type: "int", required: true, help: "memory in MiB", example: "4096" },
					{ key: "disk_gib", type: "int", required: true, help: "root disk in GiB", example: "40" },
				],
				({ client, body }) => client.flavors.create(body as FlavorCreate),
			),
			standard.delete("flavor", ({ client }, id) => client.flavors.delete(id)),
		],
	},
	{
		name: "placement-groups",
		summary: "A tenant's placement groups: instances kept on one host or apart",
		columns: ["id", "name", "policy", "instance_ids", "created_at"],
		actions: [
			standard.list("List the tenant's placement groups", (c, query) =>
				c.client.placementGroups.list(c.tenant(), query),
			),
			standard.get("placement group", (c, id) => c.client.placementGroups.get(c.tenant(), id)),
			standard.create(
				"placement group",
				[
					{ key: "name", required: true, help: "name", example: "db-ha" },
					{
						key: "policy",
						type: ["affinity", "anti-affinity"],
						required: true,
						help: "together or apart",
						example: "anti-affinity",
					},
				],
				(c) => c.client.placementGroups.create(c.tenant(), c.body as PlacementGroupCreate),
			),
			standard.delete("placement group", (c, id) => c.client.placementGroups.delete(c.tenant(), id)),
		],
	},
	{
		name: "instances",
		summary: "A tenant's virtual machines",
		columns: ["id", "name", "status", "flavor", "zone", "vcpus", "memory_mib", "volume_ids"],
		actions: [
			standard.list("List the tenant's instances", (c, query) => c.client.instances.list(c.tenant(), query), {
				query: [
					{
						key: "status",
						type: ["provisioning", "running", "stopping", "stopped", "starting", "rebooting", "deleting", "failed"],
						help: "only in this state",
					},
				],
			}),
			standard.get("instance", (c, id) => c.client.instances.get(c.tenant(), id)),
			standard.create(
				"instance (quota and capacity are claimed before the answer)",
				[
					{ key: "name", required: true, help: "name", example: "web-1" },
					{ key: "flavor", required: true, help: "flavor name", example: "c2-m4" },
					{ key: "zone", help: "zone name (default: any the tenant's residency allows)" },
					{ key: "placement_group", help: "placement group id" },
					{ key: "volume_ids", flag: "volume", type: "list", help: "volume ids to attach (repeat or comma-separate)" },
					{ key: "labels", flag: "label", type: "map", help: "key=value (repeat)" },
				],
				(c) => c.client.instances.create(c.tenant(), c.body as InstanceCreate, waitFlag(c)),
				{
					wait: true,
					examples: [
						"igoudar instances create --name web-1 --flavor c2-m4 --zone dakhla-1 --wait",
						"igoudar instances create --name db-1 --flavor c2-m4 --label app=db --label tier=gold -o json",
					],
				},
			),
			instanceAction("start", "Start a stopped instance"),
			instanceAction("stop", "Stop a running instance"),
			instanceAction("reboot", "Reboot a running instance"),
			standard.delete("instance", (c, id) => c.client.instances.delete(c.tenant(), id, waitFlag(c)), { wait: true }),
		],
	},
];
