import { type Ctx, recordAudit, withDb } from "@igoudar/kit";
import { getPlacementSettings, type PlacementSettings, setPlacementSettings } from "../db/settings";

export interface PlacementSettingsView {
	strategy: PlacementSettings["strategy"];
}

export async function placementSettingsGet(ctx: Ctx): Promise<PlacementSettingsView> {
	const settings = await getPlacementSettings(ctx.db);
	return { strategy: settings.strategy };
}

export type PlacementSettingsUpdate = Partial<PlacementSettings>;

/**
 * Merges the change into the current settings, so later settings can join this PATCH without
 * a caller that sends only `strategy` resetting them.
 */
export async function placementSettingsUpdate(
	ctx: Ctx,
	input: PlacementSettingsUpdate,
): Promise<PlacementSettingsView> {
	return ctx.db.transaction(async (tx) => {
		const current = await getPlacementSettings(tx);
		const next: PlacementSettings = { strategy: input.strategy ?? current.strategy };
		const saved = await setPlacementSettings(tx, next);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "placement_settings.update",
			targetType: "platform_settings",
			detail: { from: { ...current }, to: { ...saved } },
		});
		return { strategy: saved.strategy };
	});
}
