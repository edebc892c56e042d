export type Role = "operator" | "admin" | "member" | "viewer";

export const ROLE_RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, operator: 3 };

/** Who is calling: resolved from the token and re-checked against the database on every request. */
export interface Principal {
	/** Service account id (the token's `sub`). */
	id: string;
	clientId: string;
	role: Role;
	/** Null for operators. */
	tenantId: string | null;
	tenantStatus: "active" | "suspended" | null;
	tokenId: string;
}

/**
 * Route access rule. `tenant: true` means the path has `tenant_id`: a tenant principal of another
 * tenant gets 404 (never revealing existence), operators see every tenant.
 */
export type Access = { public: true } | { role: Role; tenant?: boolean };

export function isOperator(p: Principal): boolean {
	return p.role === "operator";
}
