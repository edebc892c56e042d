import type { Db } from "@igoudar/db";
import type { TokenSigner } from "./app/signing-keys";

export interface TenantsDeps {
	db: Db;
	signer: TokenSigner;
	/** What the RFC 8414 metadata publishes: the tokens' issuer and the deployment's public URL. */
	oauth: { issuer: string; publicUrl?: string };
}
