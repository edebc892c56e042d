import type { TestPlatform } from "@igoudar/server/testing";
import type { Tenancy } from "./fleet";

/**
 * Tenants' traffic while things break, from a few clients in parallel: instances (creates, then
 * whatever fits each one's status: stop, start, reboot, delete, and deletes of instances still
 * being made, which cancel their create) and block storage (volumes created, grown, snapshotted,
 * attached to running instances, detached, deleted; snapshots deleted). Only operations the API
 * accepted (202) are counted; a refusal during an outage is recorded, never retried blindly.
 */

export interface WorkloadResult {
	operationIds: string[];
	instanceIds: string[];
	volumeIds: string[];
	/** Answers other than 202, by status (e.g. 503 while the database restarts). */
	refused: Record<number, number>;
	/** Requests that threw (the API could not answer at all). */
	errors: number;
}

type Accepted = {
	instance?: { id: string };
	volume?: { id: string };
	snapshot?: { id: string };
	operation?: { id: string };
};

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One tenant's client state: what it made and still believes exists. */
class Traffic {
	readonly liveInstances = new Set<string>();
	readonly liveVolumes = new Set<string>();
	readonly liveSnapshots = new Set<string>();
	private names = 0;

	constructor(
		private readonly t: TestPlatform,
		readonly tenancy: Tenancy,
		readonly result: WorkloadResult,
	) {}

	get base(): string {
		return `/v1/tenants/${this.tenancy.tenantId}`;
	}

	name(kind: string): string {
		this.names += 1;
		return `${kind}-${this.names}`;
	}

	/** Sends one request; returns what a 202 named. */
	async send(method: string, path: string, body?: unknown): Promise<Accepted | undefined> {
		try {
			const res = await this.t.request<Accepted>(method, `${this.base}${path}`, { token: this.tenancy.token, body });
			if (res.status === 202 && res.body.operation) {
				this.result.operationIds.push(res.body.operation.id);
				if (res.body.instance) this.result.instanceIds.push(res.body.instance.id);
				if (res.body.volume) this.result.volumeIds.push(res.body.volume.id);
				return res.body;
			}
			this.result.refused[res.status] = (this.result.refused[res.status] ?? 0) + 1;
		} catch {
			this.result.errors += 1;
		}
		return undefined;
	}

	/** The resource's status now; one that answers 404 is gone and leaves `live`. */
	async statusOf(path: string, live: Set<string>, id: string): Promise<string | undefined> {
		try {
			const res = await this.t.request<{ status: string }>("GET", `${this.base}${path}/${id}`, {
				token: this.tenancy.token,
			});
			if (res.status === 404) live.delete(id);
			return res.status === 200 ? res.body.status : undefined;
		} catch {
			return undefined;
		}
	}

	async instanceStep(target: number): Promise<void> {
		if (this.result.instanceIds.length < Math.ceil(target / 3) || this.liveInstances.size === 0) {
			const made = await this.send("POST", "/instances", {
				name: this.name("vm"),
				flavor: this.tenancy.flavor,
				zone: this.tenancy.zone,
			});
			if (made?.instance) this.liveInstances.add(made.instance.id);
			return;
		}
		const id = pick([...this.liveInstances]);
		if (!id) return;
		const status = await this.statusOf("/instances", this.liveInstances, id);
		const roll = Math.random();
		const path = `/instances/${id}`;
		if (status === "provisioning" && roll < 0.3) await this.send("DELETE", path);
		else if (status === "running") {
			if (roll < 0.4) await this.send("POST", `${path}/stop`);
			else if (roll < 0.75) await this.send("POST", `${path}/reboot`);
			else await this.send("DELETE", path);
		} else if (status === "stopped") {
			if (roll < 0.6) await this.send("POST", `${path}/start`);
			else await this.send("DELETE", path);
		} else if (status === "failed") await this.send("DELETE", path);
		else await pause(50);
	}

	async storageStep(target: number): Promise<void> {
		if (this.result.volumeIds.length < Math.ceil(target / 6) || this.liveVolumes.size === 0) {
			const made = await this.send("POST", "/volumes", {
				name: this.name("vol"),
				size_gib: 1 + Math.floor(Math.random() * 4),
				zone: this.tenancy.zone,
			});
			if (made?.volume) this.liveVolumes.add(made.volume.id);
			return;
		}
		const roll = Math.random();
		const snapshot = pick([...this.liveSnapshots]);
		if (snapshot && roll < 0.1) {
			await this.send("DELETE", `/snapshots/${snapshot}`);
			this.liveSnapshots.delete(snapshot);
			return;
		}
		const id = pick([...this.liveVolumes]);
		if (!id) return;
		const status = await this.statusOf("/volumes", this.liveVolumes, id);
		const path = `/volumes/${id}`;
		if (status === "available") {
			const instance = pick([...this.liveInstances]);
			if (roll < 0.3) await this.send("POST", `${path}/resize`, { size_gib: 6 + Math.floor(Math.random() * 10) });
			else if (roll < 0.5) {
				const made = await this.send("POST", `${path}/snapshots`, { name: this.name("snap") });
				if (made?.snapshot) this.liveSnapshots.add(made.snapshot.id);
			} else if (roll < 0.8 && instance) await this.send("POST", `${path}/attach`, { instance_id: instance });
			else await this.send("DELETE", path);
		} else if (status === "in_use") await this.send("POST", `${path}/detach`);
		else if (status === "creating" && roll < 0.2) await this.send("DELETE", path);
		else if (status === "failed") await this.send("DELETE", path);
		else await pause(50);
	}
}

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
	const result: WorkloadResult = { operationIds, instanceIds: [], volumeIds: [], refused: {}, errors: 0 };
	const traffic = new Traffic(t, tenancy, result);
	const deadline = Date.now() + (options.timeoutMs ?? 120_000);
	const client = async () => {
		while (result.operationIds.length < target && Date.now() < deadline) {
			await (Math.random() < 0.6 ? traffic.instanceStep(target) : traffic.storageStep(target));
			if (options.paceMs) await pause(options.paceMs);
		}
	};
	await Promise.all(Array.from({ length: options.clients ?? 4 }, client));
	return result;
}
