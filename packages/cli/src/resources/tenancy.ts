import type { QuotaUpdate, ServiceAccountCreate, TenantCreate, TenantUpdate } from "@igoudar/sdk";
import type { Field, Resource } from "../table.js";
import { standard } from "../table.js";

/** The six quota resources, as flags of `quotas set` and `quota-defaults set`. */
export const QUOTA_LIMITS: Field[] = [
	{ key: "limits.instances", type: "int", help: "instances", example: "10" },
	{ key: "limits.vcpus", type: "int", help: "vCPUs" },
	{ key: "limits.memory_mib", type: "int", help: "memory in MiB" },
	{ key: "limits.volumes", type: "int", help: "volumes" },
	{ key: "limits.volume_gib", type: "int", help: "volume space in GiB" },
	{ key: "limits.snapshots", type: "int", help: "snapshots" },
];

export const tenancy: Resource[] = [
	{
		name: "tenants",
		summary: "Tenants: the organisations that own resources (operators)",
		columns: ["id", "name", "status", "data_residency", "price_plan_id", "created_at"],
		actions: [
			standard.list("List tenants", ({ client }, query) => client.tenants.list(query)),
			standard.get("tenant", ({ client }, id) => client.tenants.get(id)),
			standard.create(
				"tenant",
				[
					{ key: "name", required: true, help: "unique name", example: "acme" },
					{ key: "display_name", nullable: true, help: "name shown to people" },
					{ key: "data_residency", type: "list", nullable: true, help: "jurisdictions data must stay in (MA,FR)" },
				],
				({ client, body }) => client.tenants.create(body as TenantCreate),
				{ examples: ["igoudar tenants create --name acme --data-residency MA"] },
			),
			{
				name: "update",
				summary: "Change a tenant's names, residency, price plan or status",
				args: ["<tenant>"],
				body: [
					{ key: "display_name", nullable: true, help: "name shown to people" },
					{ key: "data_residency", type: "list", nullable: true, help: "jurisdictions data must stay in" },
					{ key: "price_plan_id", flag: "price-plan", nullable: true, help: "price plan id (none: the default)" },
					{ key: "status", type: ["active", "suspended"], help: "suspend or reactivate" },
				],
				examples: ["igoudar tenants update 5f0c... --status suspended"],
				run: ({ client, args, body }) => client.tenants.update(args[0] ?? "", body as TenantUpdate),
			},
			standard.delete("tenant", ({ client }, id) => client.tenants.delete(id)),
		],
	},
	{
		name: "service-accounts",
		summary: "A tenant's service accounts: client credentials for automation",
		columns: ["id", "name", "role", "client_id", "created_at"],
		actions: [
			standard.list("List the tenant's service accounts", (c, query) =>
				c.client.serviceAccounts.list(c.tenant(), query),
			),
			standard.create(
				"service account (the answer is the only time its secret is shown)",
				[
					{ key: "name", required: true, help: "name", example: "deployer" },
					{ key: "role", type: ["admin", "member", "viewer"], required: true, help: "role", example: "member" },
				],
				(c) => c.client.serviceAccounts.create(c.tenant(), c.body as ServiceAccountCreate),
			),
			standard.delete("service account", (c, id) => c.client.serviceAccounts.delete(c.tenant(), id)),
		],
	},
	{
		name: "quotas",
		summary: "A tenant's quotas: limit and use of each resource",
		columns: ["resource", "limit", "used"],
		actions: [
			{ name: "list", summary: "Show every quota with its use", run: (c) => c.client.quotas.list(c.tenant()) },
			{
				name: "set",
				summary: "Change limits (operators); the others stay",
				body: QUOTA_LIMITS,
				examples: ["igoudar quotas set --tenant 5f0c... --instances 10 --vcpus 32"],
				run: (c) => c.client.quotas.update(c.tenant(), c.body as QuotaUpdate),
			},
		],
	},
	{
		name: "operations",
		summary: "Long-running work (creates, deletes, actions, invoice runs) and its progress",
		columns: ["id", "kind", "status", "progress", "target_id", "created_at"],
		actions: [
			standard.list(
				"List the tenant's operations, newest first",
				(c, query) => c.client.operations.list(c.tenant(), query),
				{
					query: [
						{ key: "target_id", flag: "target", help: "only those acting on this resource id" },
						{ key: "status", type: ["pending", "running", "succeeded", "failed"], help: "only in this state" },
					],
				},
			),
			standard.get("operation", (c, id) => c.client.operations.get(c.tenant(), id)),
			{
				name: "wait",
				summary: "Wait until an operation ends: exit 0 if it succeeded, 1 if it failed, 3 on --timeout",
				args: ["<operation>"],
				examples: ["igoudar operations wait 0d9e... --timeout 600"],
				run: (c) => c.client.operations.wait(c.tenant(), c.args[0] ?? "", c.waitOptions),
			},
		],
	},
];
