import type { Db } from "@igoudar/db";
import { problems } from "@igoudar/kit";
import { insertAuditEvent } from "../db/audit-events";
import { findLiveAccountByClientId } from "../db/service-accounts";
import { decoy, verifySecret } from "./secrets";
import type { TokenSigner } from "./signing-keys";

export interface TokenResponse {
	access_token: string;
	token_type: "Bearer";
	expires_in: number;
}

/** The request a token is issued for: recorded with the issue in the audit trail. */
export interface TokenRequestOrigin {
	requestId: string;
	sourceAddress: string;
}

/**
 * OAuth 2.0 client-credentials grant. An unknown client id and a wrong secret give the same
 * answer after the same work, so neither the body nor the timing tells which it was.
 */
export async function tokenIssue(
	db: Db,
	signer: TokenSigner,
	input: { client_id: string; client_secret: string },
	origin: TokenRequestOrigin,
): Promise<TokenResponse> {
	const account = await findLiveAccountByClientId(db, input.client_id);
	const valid = await verifySecret(input.client_secret, account?.secretHash ?? (await decoy()));
	if (!account || !valid) throw problems.unauthenticated("Invalid client credentials.");
	const { token, expiresIn } = await signer.sign({
		sub: account.id,
		tenant_id: account.tenantId,
		role: account.role,
		client_id: account.clientId,
	});
	// A credential put to use, and from where, is what an investigation asks first. Refusals are
	// not recorded: a flood of bad guesses must not turn into a flood of writes.
	await insertAuditEvent(db, {
		tenantId: account.tenantId,
		actorId: account.id,
		actorRole: account.role,
		action: "auth.token",
		targetType: "service_account",
		targetId: account.id,
		requestId: origin.requestId,
		sourceAddress: origin.sourceAddress,
		detail: { expires_in: expiresIn },
	});
	return { access_token: token, token_type: "Bearer", expires_in: expiresIn };
}
