import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** As TestPlatform's: one test address does the work of many clients, so these limits are out of its reach. */
const GENEROUS_TEST_LIMITS = {
	IGOUDAR_TOKEN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: "1000000",
	IGOUDAR_AUTH_FAILURES_PER_MINUTE: "1000000",
	IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT: "1000000",
};

const entry = fileURLToPath(new URL("../../services/server/bin/igoudar-server.mjs", import.meta.url));

export interface ServerProcess {
	url: string;
	child: ChildProcess;
	/** Everything the process logged so far. */
	output(): string;
	stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `igoudar-server` as a real child process on a free port and resolves once it listens.
 */
export async function startServerProcess(target: string, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
	const child = spawn(process.execPath, [entry, `--target=${target}`], {
		env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...GENEROUS_TEST_LIMITS, ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let log = "";
	child.stdout?.on("data", (chunk: Buffer) => {
		log += chunk.toString();
	});
	child.stderr?.on("data", (chunk: Buffer) => {
		log += chunk.toString();
	});
	// "close" comes after the output streams end, so everything the process printed is in `log`.
	const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
	const url = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => {
			// Never leave a half-started server (and whatever it started) behind.
			child.kill("SIGKILL");
			reject(new Error(`server did not listen within 90 s:\n${log}`));
		}, 90_000);
		const poll = setInterval(() => {
			const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
			if (match?.[1]) {
				clearInterval(poll);
				clearTimeout(timer);
				resolve(match[1]);
			}
		}, 50);
		exited.then((code) => {
			clearInterval(poll);
			clearTimeout(timer);
			reject(new Error(`server exited with ${code} before listening:\n${log}`));
		});
	});
	return {
		url,
		child,
		output: () => log,
		async stop(signal = "SIGTERM") {
			if (child.exitCode !== null) return child.exitCode;
			child.kill(signal);
			return exited;
		},
	};
}
