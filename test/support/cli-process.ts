import { spawn } from "node:child_process";

export interface CliResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

/**
 * Runs the installed `igoudar` bin as a real process with only the environment given (a HOME of
 * the test's own, no IGOUDAR_* from the machine), feeding `input` on stdin.
 */
export function runCli(
	bin: string,
	args: readonly string[],
	env: NodeJS.ProcessEnv,
	input?: string,
	wrap?: (argv: string[]) => string[],
): Promise<CliResult> {
	const argv = wrap ? wrap([process.execPath, bin, ...args]) : [process.execPath, bin, ...args];
	const [command, ...rest] = argv;
	return new Promise((resolve, reject) => {
		const child = spawn(command ?? process.execPath, rest, {
			env: { PATH: process.env.PATH, ...env },
			stdio: ["pipe", "pipe", "pipe"],
		});
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (chunk: Buffer) => {
			stdout += chunk.toString();
		});
		child.stderr.on("data", (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
		child.on("error", reject);
		child.on("close", (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
		child.stdin.end(input ?? "");
	});
}

/** Runs a command line under a pseudo-terminal (util-linux `script`), so the process sees a TTY. */
export function underTerminal(argv: string[]): string[] {
	const quoted = argv.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ");
	return ["script", "-qec", quoted, "/dev/null"];
}
