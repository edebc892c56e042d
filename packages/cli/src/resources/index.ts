import type { Resource } from "../table.js";
import { billing } from "./billing.js";
import { compute } from "./compute.js";
import { energy } from "./energy.js";
import { platform } from "./platform.js";
import { storage } from "./storage.js";
import { tenancy } from "./tenancy.js";

/** Every resource the command offers, in the order `igoudar --help` lists them. */
export const RESOURCES: Resource[] = [...tenancy, ...compute, ...storage, ...billing, ...energy, ...platform];
