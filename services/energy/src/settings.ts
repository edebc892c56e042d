import { envInt, envString } from "@igoudar/kit";

export interface EnergySettings {
	/** Hours after an hour ends during which its readings may still change; then it is final. */
	finalAfterHours: number;
	/** How often the workers' repeatable job attributes the hours whose readings changed. */
	attributionIntervalMs: number;
	/** Seed and keep feeding the demo site (`IGOUDAR_DEMO=1`; `0` turns off the dev default). */
	demo: boolean;
}

export const DEFAULT_FINAL_AFTER_HOURS = 24;

/** `demoByDefault`: what an unset IGOUDAR_DEMO means (the dev quickstart turns the demo on). */
export function energySettingsFromEnv(env: NodeJS.ProcessEnv = process.env, demoByDefault = false): EnergySettings {
	const finalAfterHours = envInt("IGOUDAR_ENERGY_FINAL_AFTER_HOURS", DEFAULT_FINAL_AFTER_HOURS, env);
	if (finalAfterHours < 0) throw new Error("IGOUDAR_ENERGY_FINAL_AFTER_HOURS must be 0 or more");
	const attributionIntervalMs = envInt("IGOUDAR_ENERGY_INTERVAL_MS", 60_000, env);
	if (attributionIntervalMs < 1_000) throw new Error("IGOUDAR_ENERGY_INTERVAL_MS must be at least 1000");
	const demo = envString("IGOUDAR_DEMO", demoByDefault ? "1" : "0", env);
	if (demo !== "0" && demo !== "1") throw new Error("IGOUDAR_DEMO must be 0 or 1");
	return { finalAfterHours, attributionIntervalMs, demo: demo === "1" };
}
