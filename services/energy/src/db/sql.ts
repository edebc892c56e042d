/** `execute` answers the driver's own result; node-postgres and PGlite both carry `rows`. */
export function rowsOf<Row>(result: unknown): Row[] {
	return (result as { rows: Row[] }).rows;
}
