import type { Db } from "@igoudar/db";
import type { Revocations } from "@igoudar/kit";
import type { TokenSigner } from "./app/signing-keys";

export interface TenantsDeps {
	db: Db;
	signer: TokenSigner;
	/** Where revocations and suspensions are announced to every replica's authenticator. */
	revocations?: Revocations;
	/** What the RFC 8414 metadata publishes: the tokens' issuer and the deployment's public URL. */
	oauth: { issuer: string; publicUrl?: string };
}
