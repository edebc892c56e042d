import type { Db } from "../client";

/** Anything drizzle can prepare: a select, insert, update or delete builder. */
interface Preparable<P> {
	prepare(name: string): P;
}

const byDatabase = new WeakMap<object, Map<string, unknown>>();

/**
 * The statement `name`, built and prepared once per database handle and reused: drizzle builds
 * the SQL text once, and Postgres parses and plans it once per connection (a named statement).
 * A transaction is a handle of its own, so a statement used inside one runs inside it. `name`
 * must stand for one SQL text: a query whose shape varies needs one name per shape.
 */
export function prepared<P>(db: Db, name: string, build: (db: Db) => Preparable<P>): P {
	let statements = byDatabase.get(db);
	if (!statements) {
		statements = new Map();
		byDatabase.set(db, statements);
	}
	let statement = statements.get(name) as P | undefined;
	if (!statement) {
		statement = build(db).prepare(name);
		statements.set(name, statement);
	}
	return statement;
}

/** A fixed SQL text with positional parameters, run as the named prepared statement `name`. */
export interface Statement {
	name: string;
	text: string;
}

/** What `runStatement` needs of drizzle's session: the same call its own prepared queries make. */
interface PreparingSession {
	prepareQuery(
		query: { sql: string; params: unknown[] },
		fields: undefined,
		name: string,
		isResponseInArrayMode: boolean,
	): { execute(): Promise<unknown> };
}

/**
 * Runs `statement` with `values` on `db`, a pool or a transaction, as a named prepared statement:
 * nothing is built per call, and Postgres parses and plans the text once per connection. For the
 * hot statements that run inside transactions, where `prepared` would build its query again for
 * every transaction handle. Rows come back as the driver gives them (timestamps as text).
 */
export async function runStatement<Row>(db: Db, statement: Statement, values: readonly unknown[]): Promise<Row[]> {
	// drizzle keeps its session on every handle (a transaction's is bound to its connection);
	// prepareQuery with a name and the values given as-is is what its own `.prepare(name)` runs.
	const session = (db as unknown as { session?: PreparingSession }).session;
	if (!session || typeof session.prepareQuery !== "function") {
		throw new Error("runStatement needs a drizzle database or transaction handle");
	}
	const result = await session
		.prepareQuery({ sql: statement.text, params: [...values] }, undefined, statement.name, false)
		.execute();
	return (result as { rows: Row[] }).rows;
}
