import { InvalidArgumentError, Option } from "commander";
import type { Field } from "./table.js";

/** `rates.vcpu_hour` -> `vcpu-hour`. */
export function flagName(field: Field): string {
	return field.flag ?? (field.key.split(".").at(-1) ?? field.key).replaceAll("_", "-");
}

const PLACEHOLDER: Record<string, string> = { int: "<n>", number: "<number>", list: "<a,b>", map: "<key=value>" };

function parseWhole(text: string): number {
	if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError("not a whole number.");
	return Number(text);
}

function parseNumber(text: string): number {
	const value = Number(text);
	if (text.trim() === "" || !Number.isFinite(value)) throw new InvalidArgumentError("not a number.");
	return value;
}

/** Repeatable and comma-separated: `--volume a --volume b,c`. */
function parseList(text: string, previous: unknown): string[] {
	const before = Array.isArray(previous) ? (previous as string[]) : [];
	return [
		...before,
		...text
			.split(",")
			.map((part) => part.trim())
			.filter((part) => part !== ""),
	];
}

function parseMap(text: string, previous: unknown): Record<string, string> {
	const at = text.indexOf("=");
	if (at <= 0) throw new InvalidArgumentError("expected key=value.");
	const before = typeof previous === "object" && previous !== null ? (previous as Record<string, string>) : {};
	return { ...before, [text.slice(0, at)]: text.slice(at + 1) };
}

/** The commander option of a body or query field: its flag, placeholder, parser and choices. */
export function optionOf(field: Field): Option {
	const type = field.type ?? "string";
	const placeholder = typeof type === "string" ? (PLACEHOLDER[type] ?? "<value>") : "<value>";
	const option = new Option(
		`--${flagName(field)} ${placeholder}`,
		field.help + (field.nullable ? " (none: clear)" : ""),
	);
	if (typeof type !== "string") option.choices(type);
	else {
		const parse =
			type === "int"
				? parseWhole
				: type === "number"
					? parseNumber
					: type === "list"
						? parseList
						: type === "map"
							? parseMap
							: undefined;
		if (parse || field.nullable) {
			option.argParser((text: string, previous: unknown) =>
				field.nullable && text === "none" ? null : parse ? parse(text, previous) : text,
			);
		}
	}
	if (field.required) option.makeOptionMandatory();
	return option;
}

/** The body or query the fields' flags spell: dotted keys nest, flags not given are left out. */
export function valuesOf(
	fields: readonly Field[] | undefined,
	options: Record<string, unknown>,
): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const field of fields ?? []) {
		const value = options[optionOf(field).attributeName()];
		if (value === undefined) continue;
		const path = field.key.split(".");
		let target = out;
		for (const part of path.slice(0, -1)) {
			target[part] ??= {};
			target = target[part] as Record<string, unknown>;
		}
		target[path.at(-1) ?? field.key] = value;
	}
	return out;
}

/** The example `--help` shows when an action has none of its own: every required flag. */
export function exampleOf(command: string, args: readonly string[], fields: readonly Field[] | undefined): string {
	const flags = (fields ?? [])
		.filter((field) => field.required)
		.map((field) => `--${flagName(field)} ${field.example ?? (Array.isArray(field.type) ? field.type[0] : "...")}`);
	return [command, ...args, ...flags].join(" ");
}

/** Examples under `--help`, in the form commander prints extra text. */
export function examplesText(examples: readonly string[]): string {
	return examples.length === 0 ? "" : `\nExamples:\n${examples.map((example) => `  $ ${example}`).join("\n")}\n`;
}
