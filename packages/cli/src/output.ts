import { stringify as toYaml } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

/** Where the command writes: stdout for results, stderr for progress and errors. */
export interface Io {
	stdout: NodeJS.WritableStream & { isTTY?: boolean };
	stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** How a result is shown as a table: the columns of its resource, and the shape it has. */
export interface View {
	columns: readonly string[];
}

/**
 * Prints a result. json and yaml print it whole, as the API answered (a list as an array of
 * its items), for scripts. The table form is for people: a list as aligned columns, one
 * resource as aligned `field value` lines, and an accepted change as its resource followed by
 * the operation that carries it out.
 */
export function render(result: unknown, format: OutputFormat, view: View): string {
	if (result === undefined) return "";
	if (format === "json") return `${JSON.stringify(result, null, 2)}\n`;
	if (format === "yaml") return toYaml(result, { lineWidth: 0 });
	if (typeof result === "string") return result.endsWith("\n") ? result : `${result}\n`;
	if (Array.isArray(result)) return table(result, view.columns);
	if (isRecord(result)) {
		const { operation, ...rest } = result;
		const others = Object.entries(rest);
		// `{ instance, operation }`, `{ run, operation }`: the resource, then how its change went.
		if (isRecord(operation) && others.length <= 1) {
			const [entry] = others;
			const subject = entry && isRecord(entry[1]) ? fields(entry[1]) : "";
			const { id, kind, status, progress, error } = operation;
			return `${subject}${subject ? "\n" : ""}${fields({ operation: { id, kind, status, progress, error } })}`;
		}
		if (Array.isArray(result.items)) return table(result.items, view.columns);
		return fields(result);
	}
	return `${String(result)}\n`;
}

/** Aligned columns with a header; missing values are `-`. */
export function table(rows: readonly unknown[], columns: readonly string[]): string {
	if (rows.length === 0) return "(none)\n";
	const cells = rows.map((row) => columns.map((column) => cell(lookup(row, column))));
	const header = columns.map((column) => column.toUpperCase().replaceAll(".", "_"));
	return align([header, ...cells]);
}

/** One resource as `field value` lines; nested objects become dotted fields. */
export function fields(record: Record<string, unknown>): string {
	return align(flatten(record).map(([key, value]) => [key, cell(value)]));
}

function align(rows: string[][]): string {
	const widths: number[] = [];
	for (const row of rows) {
		for (const [i, text] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, text.length);
	}
	return rows
		.map((row) =>
			row
				.map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i] ?? 0)))
				.join("  ")
				.trimEnd(),
		)
		.join("\n")
		.concat("\n");
}

function flatten(record: Record<string, unknown>, prefix = ""): [string, unknown][] {
	return Object.entries(record).flatMap(([key, value]): [string, unknown][] => {
		const name = prefix ? `${prefix}.${key}` : key;
		// Labels and other free-form maps stay one field; fixed sub-objects are spelled out.
		if (isRecord(value) && Object.keys(value).length > 0 && key !== "labels") return flatten(value, name);
		return [[name, value]];
	});
}

function lookup(row: unknown, path: string): unknown {
	let value: unknown = row;
	for (const part of path.split(".")) value = isRecord(value) ? value[part] : undefined;
	return value;
}

function cell(value: unknown): string {
	if (value === null || value === undefined || value === "") return "-";
	if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(cell).join(",");
	if (isRecord(value)) {
		const entries = Object.entries(value);
		return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${cell(v)}`).join(",");
	}
	return String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}
