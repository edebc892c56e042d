import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { useTestPlatform } from "@igoudar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server";

/**
 * The compose gateway's own configuration (deploy/gateway.conf), run by a real nginx in front of a
 * real server, with only the upstream addresses and the listening port changed. Skipped where
 * nginx is not installed (.ci/run installs it).
 */
const nginx = ["/usr/sbin/nginx", "nginx"].find((bin) => spawnSync(bin, ["-v"], { stdio: "ignore" }).status === 0);
const gatewayConf = fileURLToPath(new URL("../../deploy/gateway.conf", import.meta.url));
const PER_ADDRESS = 4;

interface Gateway {
	port: number;
	stop(): void;
}

let gateway: Gateway;
let servicePort: number;

async function startGateway(upstreamPort: number): Promise<Gateway> {
	const workDir = mkdtempSync(join(tmpdir(), "igoudar-gateway-"));
	const port = await freePort();
	const site = readFileSync(gatewayConf, "utf8")
		.replace(/server (tenants|compute|storage|billing|energy):8080;/g, `server 127.0.0.1:${upstreamPort};`)
		.replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
	writeFileSync(join(workDir, "gateway.conf"), site);
	const temp = (name: string) => `${name}_temp_path ${join(workDir, name)};`;
	writeFileSync(
		join(workDir, "nginx.conf"),
		[
			// Run as root, nginx would hand requests to an unprivileged worker that cannot use this directory.
			process.getuid?.() === 0 ? "user root;" : "",
			"worker_processes 1;",
			`pid ${join(workDir, "nginx.pid")};`,
			`error_log ${join(workDir, "error.log")};`,
			"events {}",
			"http {",
			"access_log off;",
			...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp),
			`include ${join(workDir, "gateway.conf")};`,
			"}",
		].join("\n"),
	);
	const child = spawn(nginx ?? "nginx", ["-p", workDir, "-c", join(workDir, "nginx.conf"), "-g", "daemon off;"], {
		stdio: "ignore",
	});
	const stop = () => {
		child.kill("SIGQUIT");
		rmSync(workDir, { recursive: true, force: true });
	};
	const answers = () =>
		send("GET", "/healthz", { port }).then(
			() => true,
			() => false,
		);
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		if (await answers()) return { port, stop };
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	const log = readFileSync(join(workDir, "error.log"), "utf8");
	stop();
	throw new Error(`nginx did not answer:\n${log}`);
}

interface Answer {
	status: number;
	headers: Record<string, unknown>;
	body: string;
}

/** One HTTP request from a chosen loopback address (every 127.x address is this machine). */
function send(
	method: string,
	path: string,
	options: { port?: number; from?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
	const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				host: "127.0.0.1",
				port: options.port ?? gateway.port,
				method,
				path,
				localAddress: options.from ?? "127.0.0.1",
				headers: { ...(payload ? { "content-type": "application/json" } : {}), ...options.headers },
			},
			(res) => {
				let body = "";
				res.setEncoding("utf8");
				res.on("data", (chunk: string) => {
					body += chunk;
				});
				res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
			},
		);
		req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
		req.on("error", reject);
		req.end(payload);
	});
}

const get = (path: string) => send("GET", path);

function guess(from: string, forwardedFor: string, port?: number): Promise<Answer> {
	return send("POST", "/v1/auth/token", {
		from,
		port,
		headers: { "x-forwarded-for": forwardedFor },
		body: {
			grant_type: "client_credentials",
			client_id: `igc_${randomBytes(8).toString("hex")}`,
			client_secret: "not-the-secret",
		},
	});
}

describe.skipIf(!nginx)("the compose gateway (deploy/gateway.conf) in front of a server", () => {
	useTestPlatform({
		env: {
			// nginx reaches the upstream from 127.0.0.1: the one proxy the server believes.
			IGOUDAR_TRUSTED_PROXIES: "127.0.0.1",
			IGOUDAR_TOKEN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS),
		},
		hookTimeout: 60_000,
		setup: async (t) => {
			await t.app.listen({ host: "127.0.0.1", port: 0 });
			servicePort = (t.app.server.address() as AddressInfo).port;
			gateway = await startGateway(servicePort);
		},
		beforeClose: () => gateway?.stop(),
	});

	it("counts the address the gateway saw, whatever X-Forwarded-For the client sent", async () => {
		const seen: number[] = [];
		for (let i = 0; i < PER_ADDRESS; i++) seen.push((await guess("127.0.0.2", `192.0.2.${i + 1}`)).status);
		expect(seen).toEqual(Array.from({ length: PER_ADDRESS }, () => 401));
		const refused = await guess("127.0.0.2", "192.0.2.200, 198.51.100.9");
		expect(refused.status).toBe(429);
		expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
		// The forwarded address is the one used: another client behind the same gateway is served.
		expect((await guess("127.0.0.3", "192.0.2.1")).status).toBe(401);
	});

	it("does not serve /metrics, in any spelling the service would route", async () => {
		for (const path of ["/metrics", "/metrics/", "/%6Detrics", "/metrics?format=text", "//metrics"]) {
			expect((await get(path)).status, path).toBe(404);
		}
		// The service itself still answers its scraper on the internal network.
		expect((await send("GET", "/metrics", { port: servicePort })).status).toBe(200);
		expect((await get("/healthz")).status).toBe(200);
	});
});

describe.skipIf(!nginx)("what the compose gateway tells the services", () => {
	let echo: Server;
	let echoGateway: Gateway;
	beforeAll(async () => {
		// An upstream that answers with the forwarding headers it received.
		echo = createServer((req, res) => {
			res.setHeader("content-type", "application/json");
			res.end(
				JSON.stringify({ xff: req.headers["x-forwarded-for"] ?? null, forwarded: req.headers.forwarded ?? null }),
			);
		});
		await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
		echoGateway = await startGateway((echo.address() as AddressInfo).port);
	});
	afterAll(async () => {
		echoGateway?.stop();
		await new Promise((resolve) => echo?.close(resolve));
	});

	it("replaces X-Forwarded-For with the one address it saw and drops Forwarded, so no service can be fooled", async () => {
		const answer = await send("GET", "/v1/tenants", {
			port: echoGateway.port,
			from: "127.0.0.5",
			headers: { "x-forwarded-for": "192.0.2.1, 192.0.2.2", forwarded: "for=192.0.2.3" },
		});
		expect(JSON.parse(answer.body)).toEqual({ xff: "127.0.0.5", forwarded: null });
	});
});
