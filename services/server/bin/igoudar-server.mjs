#!/usr/bin/env node
// Loads the TypeScript entrypoint through tsx in this same process (signals reach it directly),
// so the server needs no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
