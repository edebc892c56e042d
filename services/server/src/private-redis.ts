import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyBaseLogger } from "fastify";

/**
 * The redis-server a server starts for itself when none answers at a loopback REDIS_URL. It must
 * not outlive the server, even one killed with SIGKILL (which runs no shutdown code):
 * - on Linux it is started through `setpriv --pdeathsig TERM`, so the kernel sends it SIGTERM
 *   the moment its parent dies, however it dies;
 * - and it is recorded in a pidfile under the data directory, with the server that owns it, so
 *   the next start on that port stops one whose owner is gone (where the death signal was not
 *   available, or a server was killed between starting it and arming the signal).
 */

/** A process named by pid and start time: a pid alone may have been reused by another process. */
interface ProcessId {
	pid: number;
	/** Clock ticks after boot when it started (/proc/<pid>/stat field 22). */
	startTime: string;
}

export interface PrivateRedisRecord {
	port: string;
	redis: ProcessId;
	owner: ProcessId;
}

export function pidfilePath(dataDir: string, port: string): string {
	return join(dataDir, `redis-${port}.pid`);
}

/** Undefined when the process does not exist (or /proc cannot tell, off Linux). */
export function processStartTime(pid: number): string | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The command name (field 2) is in parentheses and may hold spaces: count after its end.
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return fields[19];
	} catch {
		return undefined;
	}
}

function isAlive(process: ProcessId): boolean {
	return processStartTime(process.pid) === process.startTime;
}

/** The process is a redis-server serving `port`, as /proc shows its command line. */
function isRedisServerOn(pid: number, port: string): boolean {
	let cmdline: string;
	try {
		cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
	} catch {
		return false;
	}
	// Before it renames itself: `redis-server --port N ...`; after: `redis-server 127.0.0.1:N`.
	const words = cmdline.split(/[\0\s]+/).filter(Boolean);
	const named = words.some((word) => word === "redis-server" || word.endsWith("/redis-server"));
	return named && words.some((word) => word === port || word.endsWith(`:${port}`));
}

function readRecord(path: string): PrivateRedisRecord | undefined {
	try {
		const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<PrivateRedisRecord>;
		if (typeof parsed.port !== "string" || !parsed.redis || !parsed.owner) return undefined;
		return parsed as PrivateRedisRecord;
	} catch {
		return undefined;
	}
}

async function waitForExit(process: ProcessId, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (!isAlive(process)) return true;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	return !isAlive(process);
}

/**
 * Stops the redis-server a dead server left on `port`, if the pidfile names one. Only a process
 * that is still the one recorded (same pid and start time), still a redis-server on that port,
 * and whose owner is gone: a live owner is another server using it, and anything else is not ours.
 */
export async function stopLeftoverRedis(dataDir: string, port: string, log: FastifyBaseLogger): Promise<void> {
	const path = pidfilePath(dataDir, port);
	const record = readRecord(path);
	if (!record) {
		rmSync(path, { force: true });
		return;
	}
	if (isAlive(record.owner)) return;
	if (isAlive(record.redis) && record.port === port && isRedisServerOn(record.redis.pid, port)) {
		log.warn({ pid: record.redis.pid, port }, "stopping the private redis-server a previous run left behind");
		process.kill(record.redis.pid, "SIGTERM");
		if (!(await waitForExit(record.redis, 5_000))) {
			process.kill(record.redis.pid, "SIGKILL");
			await waitForExit(record.redis, 2_000);
		}
	}
	rmSync(path, { force: true });
}

let canSetDeathSignal: boolean | undefined;
/** util-linux `setpriv` sets the parent-death signal and then runs the program in its place. */
function hasSetpriv(): boolean {
	canSetDeathSignal ??= spawnSync("setpriv", ["--help"], { encoding: "utf8" }).stdout?.includes("--pdeathsig") === true;
	return canSetDeathSignal;
}

export interface LaunchedRedis {
	child: ChildProcess;
	/** Stops it (SIGTERM) and removes its pidfile. */
	stop(): Promise<void>;
}

/** Starts redis-server on a loopback port (memory only, `noeviction` as BullMQ requires) and records it. */
export function launchPrivateRedis(port: string, dataDir: string): LaunchedRedis {
	const args = [
		"--port",
		port,
		"--bind",
		"127.0.0.1",
		"--save",
		"",
		"--appendonly",
		"no",
		"--maxmemory-policy",
		"noeviction",
	];
	const child = hasSetpriv()
		? spawn("setpriv", ["--pdeathsig", "TERM", "--", "redis-server", ...args], { stdio: "ignore" })
		: spawn("redis-server", args, { stdio: "ignore" });
	const path = pidfilePath(dataDir, port);
	const redisPid = child.pid;
	const redisStart = redisPid === undefined ? undefined : processStartTime(redisPid);
	const ownerStart = processStartTime(process.pid);
	if (redisPid !== undefined && redisStart && ownerStart) {
		mkdirSync(dataDir, { recursive: true });
		const record: PrivateRedisRecord = {
			port,
			redis: { pid: redisPid, startTime: redisStart },
			owner: { pid: process.pid, startTime: ownerStart },
		};
		writeFileSync(path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
	}
	return {
		child,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				const exited = new Promise((resolve) => child.once("exit", resolve));
				child.kill("SIGTERM");
				await exited;
			}
			rmSync(path, { force: true });
		},
	};
}
