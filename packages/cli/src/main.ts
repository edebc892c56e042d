import { CommanderError } from "commander";
import { describeError, EXIT, exitCodeOf } from "./exit-codes.js";
import { buildProgram, type Runtime } from "./program.js";

/**
 * Runs one command line and resolves with its exit code: 0 ok, 1 an API error or a failed
 * operation, 2 a usage error, 3 a timeout. Errors go to stderr, results to stdout.
 */
export async function main(
	argv: string[],
	runtime: Runtime = { io: { stdout: process.stdout, stderr: process.stderr }, env: process.env },
): Promise<number> {
	const program = buildProgram(runtime);
	try {
		await program.parseAsync(argv, { from: "user" });
		return EXIT.ok;
	} catch (error) {
		// commander has already printed its message (and the help hint) for its own errors.
		if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
		runtime.io.stderr.write(`${describeError(error)}\n`);
		return exitCodeOf(error);
	}
}
