import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

/**
 * A port below the ephemeral range (where outgoing connections take theirs), free right now.
 * redis-server binds it moments later; a clash with another test is then vanishingly unlikely.
 */
export async function freePort(): Promise<number> {
	for (;;) {
		const port = 20_000 + Math.floor(Math.random() * 10_000);
		const free = await new Promise<boolean>((resolve) => {
			const server = createServer();
			server.once("error", () => resolve(false));
			server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
		});
		if (free) return port;
	}
}

/** One PING on a throwaway connection that never retries: true only if Redis answers now. */
export async function pings(url: string): Promise<boolean> {
	const client = new Redis(url, {
		lazyConnect: true,
		maxRetriesPerRequest: 0,
		connectTimeout: 1_000,
		retryStrategy: () => null,
	});
	client.on("error", () => {});
	try {
		await client.connect();
		return (await client.ping()) === "PONG";
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

export interface PrivateRedis {
	url: string;
	port: number;
	/** SIGKILL: no shutdown, no goodbye to clients, and (memory only) every key is gone. */
	kill(): Promise<void>;
	/** Starts redis-server again on the same port and resolves once it answers. */
	restart(): Promise<void>;
	/**
	 * SIGSTOP: the process freezes with its sockets open, so clients stay connected and get no
	 * reply at all (a hung server or a partition), which no connection error reveals.
	 */
	pause(): void;
	/** SIGCONT after `pause()`. */
	resume(): void;
	/** Stops it for good (SIGTERM), if it runs. */
	stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free loopback port, so a test can kill and restart it
 * without touching the Redis every other test file shares.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
	const port = await freePort();
	const url = `redis://127.0.0.1:${port}`;
	let child: ChildProcess | undefined;

	const exitOf = (process: ChildProcess) =>
		process.exitCode !== null || process.signalCode !== null
			? Promise.resolve()
			: new Promise<void>((resolve) => process.once("exit", () => resolve()));

	async function launch(): Promise<void> {
		const started = spawn(
			"redis-server",
			["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].concat([
				"--maxmemory-policy",
				"noeviction",
			]),
			{ stdio: "ignore" },
		);
		child = started;
		const deadline = Date.now() + 10_000;
		while (Date.now() < deadline) {
			if (started.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${started.exitCode}`);
			if (await pings(url)) return;
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		started.kill("SIGKILL");
		throw new Error(`redis-server on port ${port} did not answer within 10 s`);
	}

	async function signal(name: NodeJS.Signals): Promise<void> {
		const running = child;
		child = undefined;
		if (!running) return;
		const exited = exitOf(running);
		running.kill(name);
		// A paused server would not act on SIGTERM until continued.
		running.kill("SIGCONT");
		await exited;
	}

	await launch();
	return {
		url,
		port,
		kill: () => signal("SIGKILL"),
		restart: launch,
		pause: () => void child?.kill("SIGSTOP"),
		resume: () => void child?.kill("SIGCONT"),
		stop: () => signal("SIGTERM"),
	};
}
