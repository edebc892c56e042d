import type { Db } from "@igoudar/db";
import { platformSettings } from "@igoudar/db";
import { eq } from "drizzle-orm";

export type PlacementStrategy = "spread" | "pack";

export interface PlacementSettings {
	strategy: PlacementStrategy;
}

const KEY = "placement";
export const DEFAULT_PLACEMENT: PlacementSettings = { strategy: "spread" };

export const PLACEMENT_SETTINGS_KEY = KEY;

export async function getPlacementSettings(db: Db): Promise<PlacementSettings> {
	const [row] = await db.select().from(platformSettings).where(eq(platformSettings.key, KEY)).limit(1);
	return placementSettingsOf(row?.value);
}

/** The settings a stored value stands for; anything unknown or absent means the default. */
export function placementSettingsOf(value: Record<string, unknown> | null | undefined): PlacementSettings {
	const strategy = value?.strategy;
	return { strategy: strategy === "pack" || strategy === "spread" ? strategy : DEFAULT_PLACEMENT.strategy };
}

export async function setPlacementSettings(db: Db, settings: PlacementSettings): Promise<PlacementSettings> {
	await db
		.insert(platformSettings)
		.values({ key: KEY, value: { ...settings } })
		.onConflictDoUpdate({ target: platformSettings.key, set: { value: { ...settings }, updatedAt: new Date() } });
	return settings;
}
