import { main } from "./main.js";

// Run from source in the workspace (`pnpm igoudar ...`); the published bin runs the built main.
process.exitCode = await main(process.argv.slice(2));
