import type { Db } from "@igoudar/db";
import type { TokenSigner } from "./app/signing-keys";

export interface TenantsDeps {
	db: Db;
	signer: TokenSigner;
}
