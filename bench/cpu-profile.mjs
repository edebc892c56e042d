// Preloaded into a benchmark's server when BENCH_CPU_PROF names a directory (`--cpu-prof` is not
// allowed in NODE_OPTIONS): profiles the main thread from start to exit and writes a .cpuprofile
// that Chrome DevTools or speedscope open.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROF;
if (dir) {
	const session = new Session();
	session.connect();
	session.post("Profiler.enable");
	session.post("Profiler.setSamplingInterval", { interval: 1000 });
	session.post("Profiler.start");
	// The in-process session answers synchronously, so the profile is written before the exit.
	process.once("exit", () => {
		session.post("Profiler.stop", (error, result) => {
			if (!error) writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
		});
	});
}
