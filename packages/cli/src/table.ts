import type { IgoudarClient, Paginator, WaitOptions } from "@igoudar/sdk";

/**
 * The command table: every resource is data (its columns and actions), and every action names
 * its arguments, its flags and the SDK call it makes. The commander tree, `--help` with examples,
 * the shell completion and the tests' coverage check are all built from this table, so a new
 * resource is one entry in a resources/ file.
 */

/** How a flag's text becomes a JSON value; an array is an enum of accepted words. */
export type FieldType = "string" | "int" | "number" | "list" | "map" | readonly string[];

export interface Field {
	/** Where the value goes in the body or query; dots nest (`rates.vcpu_hour`). */
	key: string;
	/** The flag's name without dashes; by default the last part of `key` in kebab-case. */
	flag?: string;
	type?: FieldType;
	required?: boolean;
	/** `none` is accepted and sent as null (to clear the field). */
	nullable?: boolean;
	help: string;
	/** What the generated example passes. */
	example?: string;
}

export interface Flag {
	/** commander's flag syntax, e.g. `--all-tenants` or `--since <date>`. */
	flags: string;
	help: string;
}

/** What an action's `run` gets: the client, the parsed arguments and what the flags built. */
export interface RunContext {
	client: IgoudarClient;
	/** The tenant tenant-scoped actions act on: `--tenant`, IGOUDAR_TENANT or the profile's. */
	tenant(): string;
	args: string[];
	body: Record<string, unknown>;
	query: Record<string, unknown>;
	/** The extra flags' values, by commander's camelCase names. */
	flags: Record<string, unknown>;
	/** `--wait` was given: the SDK waits for the operation, with progress on a terminal. */
	wait: boolean;
	/** How to wait (`--timeout`, progress on a terminal): for `--wait` and `operations wait`. */
	waitOptions: WaitOptions;
	signal: AbortSignal;
	/** `--limit`: at most this many items of a list. */
	limit?: number;
}

export interface Action {
	name: string;
	summary: string;
	/** Positional arguments in commander syntax: `<instance>`. */
	args?: string[];
	body?: Field[];
	query?: Field[];
	flags?: Flag[];
	/** Takes `--wait` (the answer carries an operation). */
	wait?: boolean;
	/** A list: takes `--limit`. */
	list?: boolean;
	/** Shown under Examples in `--help`; one is generated when there are none. */
	examples?: string[];
	/** The columns of its list answer, where they are not the resource's (a site's energy balance). */
	columns?: string[];
	/** The table form, where the generic one would not read well (an invoice and its lines). */
	show?: (result: unknown) => string;
	run(context: RunContext): Promise<unknown>;
}

export interface Resource {
	name: string;
	summary: string;
	/** The columns of the table form of a list. */
	columns: string[];
	actions: Action[];
}

export async function collect<T>(list: Paginator<T>, limit?: number): Promise<T[]> {
	const items: T[] = [];
	if (limit === 0) return items;
	for await (const item of list) {
		items.push(item);
		if (limit !== undefined && items.length >= limit) break;
	}
	return items;
}

/** The page size to ask for: no bigger than what `--limit` needs. */
export function pageSize(context: RunContext): { limit?: number } {
	return context.limit !== undefined && context.limit > 0 && context.limit < 100 ? { limit: context.limit } : {};
}

/** The standard actions, so a resource's table reads as what it offers. */
export const standard = {
	list: <T>(
		summary: string,
		make: (context: RunContext, query: Record<string, unknown>) => Paginator<T>,
		extra: Partial<Action> = {},
	): Action => ({
		name: "list",
		summary,
		list: true,
		...extra,
		run: (context) => collect(make(context, { ...context.query, ...pageSize(context) }), context.limit),
	}),
	get: (noun: string, fetch: (context: RunContext, id: string) => Promise<unknown>): Action => ({
		name: "get",
		summary: `Show one ${noun}`,
		args: [`<${noun.replaceAll(" ", "-")}>`],
		run: (context) => fetch(context, context.args[0] ?? ""),
	}),
	create: (noun: string, body: Field[], make: (context: RunContext) => Promise<unknown>, extra: Partial<Action> = {}) =>
		({ name: "create", summary: `Create a ${noun}`, body, ...extra, run: make }) satisfies Action,
	delete: (
		noun: string,
		remove: (context: RunContext, id: string) => Promise<unknown>,
		extra: Partial<Action> = {},
	): Action => ({
		name: "delete",
		summary: `Delete a ${noun}`,
		args: [`<${noun.replaceAll(" ", "-")}>`],
		...extra,
		run: (context) => remove(context, context.args[0] ?? ""),
	}),
};

/** The SDK's wait options from the context: `{ wait: ... }` for helpers that take it. */
export function waitFlag(context: RunContext): { wait?: WaitOptions; signal: AbortSignal } {
	return context.wait ? { wait: context.waitOptions, signal: context.signal } : { signal: context.signal };
}
