import type { Db } from "@igoudar/db";
import { problems } from "@igoudar/kit";
import { findLiveAccountByClientId } from "../db/service-accounts";
import { decoy, verifySecret } from "./secrets";
import type { TokenSigner } from "./signing-keys";

export interface TokenResponse {
	access_token: string;
	token_type: "Bearer";
	expires_in: number;
}

/**
 * OAuth 2.0 client-credentials grant. An unknown client id and a wrong secret give the same
 * answer after the same work, so neither the body nor the timing tells which it was.
 */
export async function tokenIssue(
	db: Db,
	signer: TokenSigner,
	input: { client_id: string; client_secret: string },
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
	return { access_token: token, token_type: "Bearer", expires_in: expiresIn };
}
