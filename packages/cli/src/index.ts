export { leafCommands } from "./completion.js";
export { type ConfigFile, configPath, type Profile, readConfig, resolveSettings, type Settings } from "./config.js";
export { EXIT } from "./exit-codes.js";
export { main } from "./main.js";
export { buildProgram, type Runtime } from "./program.js";
export { RESOURCES } from "./resources/index.js";
export type { Action, Field, Resource, RunContext } from "./table.js";
