import type { Db } from "@igoudar/db";
import { signingKeys } from "@igoudar/db";
import { and, eq, inArray, lt, sql } from "drizzle-orm";

export type SigningKeyRow = typeof signingKeys.$inferSelect;

/** Arbitrary constant: one replica at a time changes the key set. */
const KEY_LOCK = 727_002;

/** Runs `fn` in a transaction that holds the key-set lock. */
export async function withKeySetLock<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
	return db.transaction(async (tx) => {
		await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
		return fn(tx as unknown as Db);
	});
}

export async function listSigningKeys(db: Db): Promise<SigningKeyRow[]> {
	return db.select().from(signingKeys);
}

export async function findActiveSigningKey(db: Db): Promise<SigningKeyRow | undefined> {
	const [row] = await db.select().from(signingKeys).where(eq(signingKeys.state, "active")).limit(1);
	return row;
}

export async function insertSigningKey(db: Db, values: typeof signingKeys.$inferInsert): Promise<void> {
	await db.insert(signingKeys).values(values);
}

/** The active key stops signing and stays published until `expiresAt`; the successor signs. */
export async function promoteSigningKey(
	tx: Db,
	retiring: string,
	promoted: string,
	now: Date,
	expiresAt: Date,
): Promise<void> {
	await tx
		.update(signingKeys)
		.set({ state: "retired", retiredAt: now, expiresAt })
		.where(eq(signingKeys.kid, retiring));
	await tx.update(signingKeys).set({ state: "active", activatedAt: now }).where(eq(signingKeys.kid, promoted));
}

export async function deleteExpiredSigningKeys(tx: Db, now: Date): Promise<void> {
	await tx.delete(signingKeys).where(and(eq(signingKeys.state, "retired"), lt(signingKeys.expiresAt, now)));
}

export async function deleteSigningKeys(tx: Db, kids: string[]): Promise<void> {
	if (kids.length > 0) await tx.delete(signingKeys).where(inArray(signingKeys.kid, kids));
}
