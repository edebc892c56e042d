import type { Db } from "@igoudar/db";
import type { FastifyBaseLogger } from "fastify";
import { deleteSigningKeys, listSigningKeys, withKeySetLock } from "../db/signing-keys";
import { isSealed } from "./key-sealing";

export interface KeySealingPolicy {
	/** `NODE_ENV=production`: no key may be stored unsealed. */
	production: boolean;
	/** A key encryption secret is configured, so new keys are sealed. */
	sealing: boolean;
	/** Delete the unsealed keys now; `maintainSigningKeys` then makes fresh, sealed ones. */
	replaceUnsealed: boolean;
}

async function unsealedKids(db: Db): Promise<string[]> {
	const keys = await listSigningKeys(db);
	return keys.filter((key) => !isSealed(key.privateJwk as Record<string, unknown>)).map((key) => key.kid);
}

/**
 * Run at start, before `maintainSigningKeys`. A key that was ever stored in the clear may sit in a
 * dump or a backup, so sealing it now would not make it safe: production refuses to start, and
 * the way out is to replace such keys (`replaceUnsealed`), which also ends the tokens they signed.
 * Outside production unsealed keys are tolerated (a laptop), and rotations replace them in time.
 */
export async function enforceKeySealing(db: Db, policy: KeySealingPolicy, log: FastifyBaseLogger): Promise<void> {
	if (policy.replaceUnsealed) {
		if (!policy.sealing) {
			throw new Error(
				"IGOUDAR_REPLACE_UNSEALED_KEYS needs IGOUDAR_KEY_ENCRYPTION_SECRET: the replacements would be unsealed too",
			);
		}
		const replaced = await withKeySetLock(db, async (tx) => {
			const kids = await unsealedKids(tx);
			await deleteSigningKeys(tx, kids);
			return kids;
		});
		if (replaced.length > 0) {
			log.warn(
				{ kids: replaced },
				"deleted the signing keys stored unsealed; tokens they signed no longer verify and clients must fetch new ones",
			);
		}
		return;
	}
	if (!policy.production) return;
	const kids = await unsealedKids(db);
	if (kids.length > 0) {
		throw new Error(
			`NODE_ENV=production refuses to run with ${kids.length} token signing key(s) stored unsealed in the database (kid ${kids.join(", ")}): they may have been copied in the clear by a dump or a backup. Start once with IGOUDAR_REPLACE_UNSEALED_KEYS=true and IGOUDAR_KEY_ENCRYPTION_SECRET set to replace them with sealed keys (tokens they signed stop working; clients fetch new ones).`,
		);
	}
}
