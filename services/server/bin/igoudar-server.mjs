#!/usr/bin/env node
// Runs the compiled server (`pnpm build` writes dist/): production never compiles TypeScript at
// start. `pnpm start` runs the sources through tsx instead, for a quick start while developing.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/igoudar-server.mjs", import.meta.url);
if (!existsSync(compiled)) {
	console.error(
		"igoudar-server is not built: run `pnpm build` first (it writes services/server/dist), or `pnpm start` to run the sources",
	);
	process.exit(1);
}
await import(compiled.href);
