import { readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * A reverse proxy that sends each request to the service the compose gateway would
 * (deploy/gateway.conf: its `location` rules, read from the file, first regex match wins, then
 * the longest prefix), so split-process tests route exactly as production does without nginx.
 */

const gatewayConf = fileURLToPath(new URL("../../deploy/gateway.conf", import.meta.url));

interface Rule {
	match: (path: string) => boolean;
	upstream: string;
}

function gatewayRules(): { regexes: Rule[]; prefixes: { prefix: string; upstream: string }[] } {
	const text = readFileSync(gatewayConf, "utf8");
	const regexes: Rule[] = [];
	const prefixes: { prefix: string; upstream: string }[] = [];
	for (const [, kind, pattern, upstream] of text.matchAll(
		/location\s+(~|=)?\s*(\S+)\s*\{\s*proxy_pass\s+http:\/\/(\w+);\s*\}/g,
	)) {
		if (!pattern || !upstream) continue;
		if (kind === "~") {
			const regex = new RegExp(pattern);
			regexes.push({ match: (path) => regex.test(path), upstream });
		} else if (kind === "=") regexes.unshift({ match: (path) => path === pattern, upstream });
		else prefixes.push({ prefix: pattern, upstream });
	}
	prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
	return { regexes, prefixes };
}

export interface PathRouter {
	url: string;
	close(): Promise<void>;
}

/** Starts the router on a free loopback port; `upstreams` maps gateway upstream names to base URLs. */
export async function startPathRouter(upstreams: Record<string, string>): Promise<PathRouter> {
	const { regexes, prefixes } = gatewayRules();
	const route = (path: string): string | undefined => {
		const name =
			regexes.find((rule) => rule.match(path))?.upstream ?? prefixes.find((p) => path.startsWith(p.prefix))?.upstream;
		return name ? upstreams[name] : undefined;
	};
	const server: Server = createServer((incoming, outgoing) => {
		const path = (incoming.url ?? "/").split("?")[0] ?? "/";
		const target = route(path);
		if (!target) {
			outgoing.writeHead(502).end();
			return;
		}
		const upstream = new URL(target);
		const forward = request(
			{
				host: upstream.hostname,
				port: upstream.port,
				method: incoming.method,
				path: incoming.url,
				headers: incoming.headers,
			},
			(answer) => {
				outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(outgoing);
			},
		);
		forward.on("error", () => {
			if (!outgoing.headersSent) outgoing.writeHead(502);
			outgoing.end();
		});
		incoming.pipe(forward);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
