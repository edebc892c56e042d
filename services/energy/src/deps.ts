import type { Db } from "@igoudar/db";
import type { EnergySettings } from "./settings";

export interface EnergyDeps {
	db: Db;
	settings: EnergySettings;
}
