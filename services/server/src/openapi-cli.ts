import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generateOpenApi } from "./openapi";

const target = fileURLToPath(new URL("../../../openapi/igoudar.json", import.meta.url));
writeFileSync(target, await generateOpenApi());
console.log("wrote openapi/igoudar.json");
