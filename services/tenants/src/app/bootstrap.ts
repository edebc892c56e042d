import { createHash, randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Db } from "@igoudar/db";
import { auditEvents } from "@igoudar/db";
import type { FastifyBaseLogger } from "fastify";
import { countLiveOperators, findAccountByClientId, insertServiceAccount, updateAccount } from "../db/service-accounts";
import { hashSecret, newClientId, newClientSecret, verifySecret } from "./secrets";

export interface BootstrapSettings {
	clientId?: string;
	clientSecret?: string;
	/**
	 * Where a generated first credential is written (JSON, mode 0600) instead of the log, which
	 * log shippers copy to places a secret must not go.
	 */
	credentialFile?: string;
}

function operatorName(clientId: string): string {
	return `operator-${createHash("sha256").update(clientId).digest("hex").slice(0, 12)}`;
}

/**
 * Makes sure the platform can be administered. With a configured credential, an operator with
 * exactly that id and secret exists afterwards (idempotent across restarts and replicas); without
 * one, the first start creates an operator and prints its credential once, or writes it to
 * `credentialFile`.
 */
export async function bootstrapOperator(db: Db, settings: BootstrapSettings, log: FastifyBaseLogger): Promise<void> {
	checkBootstrapSettings(settings);
	await db.transaction(async (tx) => {
		// Replicas starting together must not both create an operator.
		await tx.execute("select pg_advisory_xact_lock(727003)");
		const txDb = tx as unknown as Db;
		if (settings.clientId && settings.clientSecret) {
			const existing = await findAccountByClientId(txDb, settings.clientId);
			if (!existing) {
				const row = await insertServiceAccount(txDb, {
					tenantId: null,
					role: "operator",
					name: operatorName(settings.clientId),
					clientId: settings.clientId,
					secretHash: await hashSecret(settings.clientSecret),
				});
				await audit(txDb, row.id, "service_account.bootstrap");
				log.info({ client_id: settings.clientId }, "bootstrap operator credential created");
				return;
			}
			if (existing.role !== "operator") {
				throw new Error(`IGOUDAR_BOOTSTRAP_CLIENT_ID ${settings.clientId} belongs to a tenant account`);
			}
			const secretMatches = await verifySecret(settings.clientSecret, existing.secretHash);
			if (!secretMatches || existing.revokedAt) {
				await updateAccount(txDb, existing.id, {
					secretHash: secretMatches ? existing.secretHash : await hashSecret(settings.clientSecret),
					revokedAt: null,
				});
				await audit(txDb, existing.id, "service_account.bootstrap_reset");
				log.info({ client_id: settings.clientId }, "bootstrap operator credential updated");
			}
			return;
		}
		if ((await countLiveOperators(txDb)) > 0) return;
		const clientId = newClientId();
		const clientSecret = newClientSecret();
		const row = await insertServiceAccount(txDb, {
			tenantId: null,
			role: "operator",
			name: operatorName(clientId),
			clientId,
			secretHash: await hashSecret(clientSecret),
		});
		await audit(txDb, row.id, "service_account.bootstrap");
		if (settings.credentialFile) {
			// Before the commit: if the file cannot be written, no operator exists whose secret is lost.
			await writeCredentialFile(settings.credentialFile, { client_id: clientId, client_secret: clientSecret });
			log.warn(
				{ client_id: clientId, credential_file: settings.credentialFile },
				"created the first operator credential; its secret is in the credential file (mode 0600), nowhere else",
			);
			return;
		}
		// Printed once: only the hash is stored, so this is the one chance to see the secret.
		log.warn(
			{ client_id: clientId, client_secret: clientSecret },
			"created the first operator credential; store it now, it will not be shown again",
		);
	});
}

/** Shortest configured operator secret: this credential can do anything on the platform. */
export const MIN_BOOTSTRAP_SECRET_LENGTH = 16;

/**
 * Refuses a configuration that would quietly do the wrong thing: one of the pair set (the start
 * would mint a random operator instead of the chosen one), a guessable secret, or values longer
 * than the token endpoint accepts (a credential that could never sign in).
 */
function checkBootstrapSettings({ clientId, clientSecret }: BootstrapSettings): void {
	if (Boolean(clientId) !== Boolean(clientSecret)) {
		throw new Error("set both IGOUDAR_BOOTSTRAP_CLIENT_ID and IGOUDAR_BOOTSTRAP_CLIENT_SECRET, or neither");
	}
	if (!clientId || !clientSecret) return;
	if (clientId.length > 255) throw new Error("IGOUDAR_BOOTSTRAP_CLIENT_ID must be at most 255 characters");
	if (clientSecret.length < MIN_BOOTSTRAP_SECRET_LENGTH || clientSecret.length > 512) {
		throw new Error(`IGOUDAR_BOOTSTRAP_CLIENT_SECRET must be ${MIN_BOOTSTRAP_SECRET_LENGTH} to 512 characters`);
	}
}

async function audit(db: Db, accountId: string, action: string): Promise<void> {
	await db.insert(auditEvents).values({
		tenantId: null,
		actorId: "system",
		actorRole: "system",
		action,
		targetType: "service_account",
		targetId: accountId,
	});
}

/**
 * Writes the file whole or not at all: a private temporary file (created 0600, so the secret is
 * never readable by others, not even for a moment) renamed over the target. A file already there
 * is replaced, with its looser mode if it had one.
 */
async function writeCredentialFile(path: string, credential: { client_id: string; client_secret: string }) {
	const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
	try {
		const file = await open(temporary, "wx", 0o600);
		try {
			await file.writeFile(`${JSON.stringify(credential)}\n`);
			await file.sync();
		} finally {
			await file.close();
		}
		await rename(temporary, path);
	} catch (error) {
		await rm(temporary, { force: true });
		const reason = error instanceof Error ? error.message : String(error);
		throw new Error(`IGOUDAR_BOOTSTRAP_CREDENTIAL_FILE: cannot write ${path}: ${reason}`);
	}
}
