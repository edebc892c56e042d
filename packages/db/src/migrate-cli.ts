import { createDatabase } from "./client";
import { migrate } from "./migrate";

const url = process.env.DATABASE_URL;
const handle = createDatabase(url ? { url } : { pgliteDir: process.env.IGOUDAR_PGLITE_DIR ?? ".data/pglite" });
await migrate(handle);
await handle.close();
console.log(`migrations applied (${handle.kind})`);
