import type { RequestBodyOf } from "@igoudar/sdk";
import type { Resource } from "../table.js";
import { collect, pageSize } from "../table.js";
import { QUOTA_LIMITS } from "./tenancy.js";

export const platform: Resource[] = [
	{
		name: "quota-defaults",
		summary: "The quotas new tenants start with (operators)",
		columns: ["resource", "limit"],
		actions: [
			{ name: "get", summary: "Show the default limits", run: ({ client }) => client.system.quotaDefaults() },
			{
				name: "set",
				summary: "Change default limits; existing tenants keep theirs",
				body: QUOTA_LIMITS,
				run: ({ client, body }) => client.system.setQuotaDefaults(body as RequestBodyOf<"quotaDefaultsUpdate">),
			},
		],
	},
	{
		name: "placement-settings",
		summary: "How the scheduler picks a host (operators)",
		columns: ["strategy"],
		actions: [
			{ name: "get", summary: "Show the placement strategy", run: ({ client }) => client.system.placementSettings() },
			{
				name: "set",
				summary: "Spread instances over hosts, or pack them onto as few as possible",
				body: [{ key: "strategy", type: ["spread", "pack"], required: true, help: "strategy", example: "pack" }],
				run: ({ client, body }) => client.system.setPlacementSettings(body as RequestBodyOf<"placementSettingsUpdate">),
			},
		],
	},
	{
		name: "audit-events",
		summary: "Who did what, when and from where (newest first)",
		columns: ["created_at", "action", "actor_role", "actor_id", "target_type", "target_id", "request_id"],
		actions: [
			{
				name: "list",
				summary: "The tenant's events (tenant admins), or every event with --all-tenants (operators)",
				list: true,
				query: [
					{ key: "action", help: "only this action, e.g. instance.create" },
					{ key: "actor_id", flag: "actor", help: "only by this service account" },
					{ key: "target_id", flag: "target", help: "only about this resource id" },
					{ key: "from", help: "not before (RFC 3339)" },
					{ key: "to", help: "before (RFC 3339)" },
				],
				flags: [{ flags: "--all-tenants", help: "every tenant's and the platform's (operators)" }],
				run: (c) => {
					const query = { ...c.query, ...pageSize(c) };
					return collect(
						c.flags.allTenants
							? c.client.auditEvents.list(query)
							: c.client.auditEvents.listForTenant(c.tenant(), query),
						c.limit,
					);
				},
			},
		],
	},
	{
		name: "consistency",
		summary: "The consistency audit: counters against the live resources (operators)",
		columns: ["kind", "detail"],
		actions: [
			{
				name: "check",
				summary: "Compare every counter with the resources",
				run: ({ client }) => client.system.consistency(),
			},
			{
				name: "repair",
				summary: "Set drifted counters to what the resources say",
				run: ({ client }) => client.system.repairConsistency(),
			},
		],
	},
];
