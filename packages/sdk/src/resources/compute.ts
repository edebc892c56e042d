import { paginate } from "../paginate.js";
import type {
	Flavor,
	FlavorCreate,
	Host,
	HostCreate,
	HostUpdate,
	Instance,
	InstanceCreate,
	InstanceListQuery,
	QueryOf,
	Zone,
	ZoneCreate,
} from "../types.js";
import { unwrap } from "../unwrap.js";
import { settle, type WaitFlag } from "../wait.js";
import { type CallOptions, type Context, headers } from "./context.js";

type ListQuery = Omit<InstanceListQuery, "page_token">;
type Call = CallOptions & WaitFlag;

export function instances({ client }: Context) {
	const at = (tenantId: string, instanceId: string) => ({ tenant_id: tenantId, instance_id: instanceId });
	const action = (verb: "start" | "stop" | "reboot") => async (tenantId: string, instanceId: string, options?: Call) =>
		settle(
			client,
			tenantId,
			await unwrap(
				client.POST(`/v1/tenants/{tenant_id}/instances/{instance_id}/${verb}`, {
					params: { path: at(tenantId, instanceId) },
					headers: headers(options),
					signal: options?.signal,
				}),
			),
			options,
		);
	const get = (tenantId: string, instanceId: string, options?: CallOptions): Promise<Instance> =>
		unwrap(
			client.GET("/v1/tenants/{tenant_id}/instances/{instance_id}", {
				params: { path: at(tenantId, instanceId) },
				signal: options?.signal,
			}),
		);
	return {
		/** Quota and capacity are claimed before the answer; `{ wait: true }` waits for it to run. */
		async create(tenantId: string, body: InstanceCreate, options?: Call) {
			const answer = await unwrap(
				client.POST("/v1/tenants/{tenant_id}/instances", {
					params: { path: { tenant_id: tenantId } },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			);
			const settled = await settle(client, tenantId, answer, options);
			// After waiting, show the instance as it now is (running), not as it was accepted.
			return options?.wait ? { ...settled, instance: await get(tenantId, answer.instance.id, options) } : settled;
		},
		get,
		list: (tenantId: string, query: ListQuery = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/instances", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: async (tenantId: string, instanceId: string, options?: Call) =>
			settle(
				client,
				tenantId,
				await unwrap(
					client.DELETE("/v1/tenants/{tenant_id}/instances/{instance_id}", {
						params: { path: at(tenantId, instanceId) },
						signal: options?.signal,
					}),
				),
				options,
			),
		start: action("start"),
		stop: action("stop"),
		reboot: action("reboot"),
	};
}

export function flavors({ client }: Context) {
	return {
		create: (body: FlavorCreate, options?: CallOptions): Promise<Flavor> =>
			unwrap(client.POST("/v1/flavors", { body, headers: headers(options), signal: options?.signal })),
		get: (flavorId: string, options?: CallOptions): Promise<Flavor> =>
			unwrap(
				client.GET("/v1/flavors/{flavor_id}", { params: { path: { flavor_id: flavorId } }, signal: options?.signal }),
			),
		list: (query: Omit<QueryOf<"flavorList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/flavors", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: (flavorId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/flavors/{flavor_id}", {
					params: { path: { flavor_id: flavorId } },
					signal: options?.signal,
				}),
			).then(() => undefined),
	};
}

export function zones({ client }: Context) {
	return {
		create: (body: ZoneCreate, options?: CallOptions): Promise<Zone> =>
			unwrap(client.POST("/v1/zones", { body, headers: headers(options), signal: options?.signal })),
		get: (zoneId: string, options?: CallOptions): Promise<Zone> =>
			unwrap(client.GET("/v1/zones/{zone_id}", { params: { path: { zone_id: zoneId } }, signal: options?.signal })),
		list: (query: Omit<QueryOf<"zoneList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/zones", { params: { query: { ...query, page_token: pageToken } }, signal: options?.signal }),
				),
			),
		delete: (zoneId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/zones/{zone_id}", { params: { path: { zone_id: zoneId } }, signal: options?.signal }),
			).then(() => undefined),
	};
}

export function hosts({ client }: Context) {
	return {
		create: (body: HostCreate, options?: CallOptions): Promise<Host> =>
			unwrap(client.POST("/v1/hosts", { body, headers: headers(options), signal: options?.signal })),
		get: (hostId: string, options?: CallOptions): Promise<Host> =>
			unwrap(client.GET("/v1/hosts/{host_id}", { params: { path: { host_id: hostId } }, signal: options?.signal })),
		update: (hostId: string, body: HostUpdate, options?: CallOptions): Promise<Host> =>
			unwrap(
				client.PATCH("/v1/hosts/{host_id}", { params: { path: { host_id: hostId } }, body, signal: options?.signal }),
			),
		list: (query: Omit<QueryOf<"hostList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/hosts", { params: { query: { ...query, page_token: pageToken } }, signal: options?.signal }),
				),
			),
		delete: (hostId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/hosts/{host_id}", { params: { path: { host_id: hostId } }, signal: options?.signal }),
			).then(() => undefined),
	};
}
