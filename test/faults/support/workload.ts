import type { TestPlatform } from "@igoudar/server/testing";
import type { Tenancy } from "./fleet";

/**
 * Tenants' traffic while things break: creates first, then whatever fits each instance's status
 * (stop, start, reboot, delete, and deletes of instances still being made, which cancel their
 * create), from a few clients in parallel. Only operations the API accepted (202) are counted;
 * a refusal during an outage is recorded, never retried blindly.
 */

export interface WorkloadResult {
	operationIds: string[];
	instanceIds: string[];
	/** Answers other than 202, by status (e.g. 503 while the database restarts). */
	refused: Record<number, number>;
	/** Requests that threw (the API could not answer at all). */
	errors: number;
}

type Instance = { id: string; status: string };

export async function runWorkload(
	t: TestPlatform,
	tenancy: Tenancy,
	target: number,
	options: {
		clients?: number;
		timeoutMs?: number;
		/** A pause between one client's requests, so the traffic spans the faults. */
		paceMs?: number;
		progress?: { operationIds: string[] };
	} = {},
): Promise<WorkloadResult> {
	// Shared with the caller, so a scenario can watch the operations accepted so far.
	const operationIds = options.progress?.operationIds ?? [];
	const result: WorkloadResult = { operationIds, instanceIds: [], refused: {}, errors: 0 };
	const base = `/v1/tenants/${tenancy.tenantId}/instances`;
	const deadline = Date.now() + (options.timeoutMs ?? 120_000);
	let names = 0;

	/** Sends one request; returns the id of the instance a create made. */
	const send = async (method: string, url: string, body?: unknown): Promise<string | undefined> => {
		try {
			const res = await t.request<{ instance?: Instance; operation?: { id: string } }>(method, url, {
				token: tenancy.token,
				body,
			});
			if (res.status === 202 && res.body.operation) {
				result.operationIds.push(res.body.operation.id);
				if (res.body.instance) result.instanceIds.push(res.body.instance.id);
				return res.body.instance?.id;
			}
			result.refused[res.status] = (result.refused[res.status] ?? 0) + 1;
		} catch {
			result.errors += 1;
		}
		return undefined;
	};

	// Instances not known to be gone; one that answers 404 was deleted and leaves the pool.
	const live = new Set<string>();
	const statusOf = async (id: string): Promise<string | undefined> => {
		try {
			const res = await t.request<Instance>("GET", `${base}/${id}`, { token: tenancy.token });
			if (res.status === 404) live.delete(id);
			return res.status === 200 ? res.body.status : undefined;
		} catch {
			return undefined;
		}
	};

	const step = async (): Promise<void> => {
		if (result.instanceIds.length < Math.ceil(target / 2) || live.size === 0) {
			const made = await send("POST", base, { name: `vm-${names++}`, flavor: tenancy.flavor, zone: tenancy.zone });
			if (made) live.add(made);
			return;
		}
		const pool = [...live];
		const id = pool[Math.floor(Math.random() * pool.length)];
		if (!id) return;
		const status = await statusOf(id);
		const roll = Math.random();
		if (status === "provisioning" && roll < 0.3) await send("DELETE", `${base}/${id}`);
		else if (status === "running") {
			if (roll < 0.4) await send("POST", `${base}/${id}/stop`);
			else if (roll < 0.7) await send("POST", `${base}/${id}/reboot`);
			else await send("DELETE", `${base}/${id}`);
		} else if (status === "stopped") {
			if (roll < 0.6) await send("POST", `${base}/${id}/start`);
			else await send("DELETE", `${base}/${id}`);
		} else if (status === "failed") await send("DELETE", `${base}/${id}`);
		else await new Promise((resolve) => setTimeout(resolve, 50));
	};

	const client = async () => {
		while (result.operationIds.length < target && Date.now() < deadline) {
			await step();
			if (options.paceMs) await new Promise((resolve) => setTimeout(resolve, options.paceMs));
		}
	};
	await Promise.all(Array.from({ length: options.clients ?? 4 }, client));
	return result;
}
