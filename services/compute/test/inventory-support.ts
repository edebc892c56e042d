import { randomBytes } from "node:crypto";
import { auditEvents } from "@igoudar/db";
import type { InjectResult, TestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { expect } from "vitest";

export interface Page<T> {
	items: T[];
	next_page_token: string | null;
}

export interface ZoneBody {
	id: string;
	name: string;
	jurisdiction: string;
	created_at: string;
}

export interface HostBody {
	id: string;
	name: string;
	zone: string;
	status: "enabled" | "disabled";
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
	cpu_allocation_ratio: number;
	memory_allocation_ratio: number;
	power_idle_w: number | null;
	power_max_w: number | null;
	capacity: { vcpus: number; memory_mib: number; disk_gib: number };
	allocated: { vcpus: number; memory_mib: number; disk_gib: number; instances: number };
	created_at: string;
	updated_at: string;
}

export interface FlavorBody {
	id: string;
	name: string;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
}

export interface GroupBody {
	id: string;
	name: string;
	policy: "affinity" | "anti-affinity";
	instance_ids: string[];
	created_at: string;
}

export interface ProblemBody {
	code: string;
	status: number;
	detail?: string;
	request_id?: string;
	errors?: { field?: string; message?: string }[];
}

export function uniqueName(prefix: string): string {
	return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** A refusal must be a problem with the stable code, the matching status and media type. */
export function expectProblem(res: InjectResult<unknown>, status: number, code: string): ProblemBody {
	const body = res.body as ProblemBody;
	expect({ status: res.status, code: body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
	expect(String(res.headers["content-type"])).toMatch(/^application\/problem\+json/);
	expect(body.request_id).toBe(res.headers["x-request-id"]);
	return body;
}

export function fieldsOf(res: InjectResult<unknown>): string[] {
	return ((res.body as ProblemBody).errors ?? []).map((e) => String(e.field));
}

/** The audit events one request wrote, found by the request id the answer carries. */
export async function auditOf(t: TestPlatform, res: InjectResult<unknown>) {
	const requestId = String(res.headers["x-request-id"]);
	return t.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId));
}

/** Creates a zone through the API and returns it; fails the test on anything but 201. */
export async function apiZone(t: TestPlatform, jurisdiction = "MA"): Promise<ZoneBody> {
	const res = await t.request<ZoneBody>("POST", "/v1/zones", {
		token: await t.operatorToken(),
		body: { name: uniqueName("zone"), jurisdiction },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body;
}

export async function apiHost(t: TestPlatform, zone: string, extra: Record<string, unknown> = {}): Promise<HostBody> {
	const res = await t.request<HostBody>("POST", "/v1/hosts", {
		token: await t.operatorToken(),
		body: { name: uniqueName("host"), zone, vcpus: 8, memory_mib: 16_384, disk_gib: 500, ...extra },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body;
}

export async function apiFlavor(
	t: TestPlatform,
	size: { vcpus: number; memory_mib: number; disk_gib: number } = { vcpus: 2, memory_mib: 2048, disk_gib: 20 },
): Promise<FlavorBody> {
	const res = await t.request<FlavorBody>("POST", "/v1/flavors", {
		token: await t.operatorToken(),
		body: { name: uniqueName("flavor"), ...size },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body;
}

/** Places an instance through the real create path, so hosts show a real claim. */
export async function apiInstance(
	t: TestPlatform,
	tenantId: string,
	token: string,
	body: Record<string, unknown>,
): Promise<{ id: string }> {
	const res = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenantId}/instances`, {
		token,
		body: { name: uniqueName("vm"), ...body },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(202);
	return res.body.instance;
}
