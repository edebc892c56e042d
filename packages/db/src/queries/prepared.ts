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
