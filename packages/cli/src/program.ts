import { createRequire } from "node:module";
import { Command, Option } from "commander";
import { type GlobalOptions, openSession } from "./client.js";
import { completionCommand } from "./completion.js";
import { UsageError } from "./exit-codes.js";
import { exampleOf, examplesText, optionOf, valuesOf } from "./options.js";
import { type Io, OUTPUT_FORMATS, render } from "./output.js";
import { RESOURCES } from "./resources/index.js";
import { sessionCommands } from "./session.js";
import type { Action, Resource } from "./table.js";

export interface Runtime {
	io: Io;
	env: NodeJS.ProcessEnv;
}

const version = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** `--timeout`: whole seconds, more than none. */
function seconds(text: string): number {
	const value = Number(text);
	if (!/^\d+$/.test(text) || value <= 0) throw new UsageError(`--timeout: "${text}" is not a number of seconds.`);
	return value;
}

/** The whole command tree: session commands, one group per resource, completion. */
export function buildProgram(runtime: Runtime, resources: readonly Resource[] = RESOURCES): Command {
	const program = new Command("igoudar")
		.description("The Igoudar control plane from a terminal or a script.")
		.version(version)
		.addOption(
			new Option("--profile <name>", "profile of the config file (default: IGOUDAR_PROFILE, then the default)"),
		)
		.addOption(
			new Option("--tenant <id>", "tenant of tenant-scoped commands (default: IGOUDAR_TENANT, then the profile's)"),
		)
		.addOption(
			new Option("-o, --output <format>", "table for people, json or yaml for scripts")
				.choices(OUTPUT_FORMATS)
				.default("table"),
		)
		.addOption(
			new Option("--timeout <seconds>", "give up (exit 3) after this long, waits included")
				.argParser(seconds)
				.default(300),
		)
		.configureHelp({ showGlobalOptions: true, sortSubcommands: false })
		.configureOutput({
			writeOut: (text) => runtime.io.stdout.write(text),
			writeErr: (text) => runtime.io.stderr.write(text),
		})
		.showHelpAfterError("(add --help for usage)")
		.exitOverride()
		.addHelpText(
			"after",
			examplesText([
				"igoudar login --url https://igoudar.example --client-id igc_... --client-secret igs_...",
				"igoudar instances create --name web-1 --flavor c2-m4 --zone dakhla-1 --wait",
				"igoudar instances list -o json",
				"igoudar quotas set --instances 10",
			]) +
				"\nExit codes: 0 ok, 1 the API refused or an operation failed, 2 usage error, 3 timeout.\n" +
				"Environment: IGOUDAR_URL, IGOUDAR_CLIENT_ID, IGOUDAR_CLIENT_SECRET, IGOUDAR_TOKEN, IGOUDAR_PROFILE,\n" +
				"IGOUDAR_TENANT override the profile; the config file is $XDG_CONFIG_HOME/igoudar/config.toml.\n",
		);
	sessionCommands(program, runtime);
	for (const resource of resources) addResource(program, resource, runtime);
	completionCommand(program, runtime);
	return program;
}

function addResource(program: Command, resource: Resource, runtime: Runtime): void {
	const group = program.command(resource.name).description(resource.summary);
	const examples: string[] = [];
	for (const action of resource.actions) {
		const command = addAction(group, resource, action, runtime);
		examples.push(...actionExamples(resource, action).slice(0, 1));
		command.addHelpText("after", examplesText(actionExamples(resource, action)));
	}
	group.addHelpText("after", examplesText(examples));
}

function actionExamples(resource: Resource, action: Action): string[] {
	if (action.examples && action.examples.length > 0) return action.examples;
	const flags = [...(action.body ?? []), ...(action.query ?? [])];
	return [exampleOf(`igoudar ${resource.name} ${action.name}`, action.args ?? [], flags)];
}

function addAction(group: Command, resource: Resource, action: Action, runtime: Runtime): Command {
	const command = group.command(action.name).description(action.summary);
	for (const arg of action.args ?? []) command.argument(arg);
	for (const field of [...(action.body ?? []), ...(action.query ?? [])]) command.addOption(optionOf(field));
	for (const flag of action.flags ?? []) command.option(flag.flags, flag.help);
	if (action.list) {
		command.addOption(
			new Option("--limit <n>", "at most this many (default: every page)").argParser((text) => {
				if (!/^\d+$/.test(text)) throw new UsageError(`--limit: "${text}" is not a whole number.`);
				return Number(text);
			}),
		);
	}
	if (action.wait) command.option("--wait", "wait until the operation ends (progress on a terminal)");
	command.action(async (...params: unknown[]) => {
		const self = params.at(-1) as Command;
		const options = self.opts();
		const globals = self.optsWithGlobals() as GlobalOptions;
		const body = valuesOf(action.body, options);
		if (action.body && !action.body.some((field) => field.required) && Object.keys(body).length === 0) {
			throw new UsageError(`${resource.name} ${action.name}: nothing to change (see --help for the flags)`);
		}
		const session = await openSession(globals, runtime.io, runtime.env);
		const tenant = () => {
			if (!session.settings.tenant) {
				throw new UsageError(
					`${resource.name} ${action.name} acts on a tenant: pass --tenant, set IGOUDAR_TENANT or log in with --tenant`,
				);
			}
			return session.settings.tenant;
		};
		let result: unknown;
		try {
			result = await action.run({
				client: session.client,
				tenant,
				args: self.processedArgs as string[],
				body,
				query: valuesOf(action.query, options),
				flags: options,
				wait: options.wait === true,
				waitOptions: session.waitOptions,
				signal: session.signal,
				limit: options.limit as number | undefined,
			});
		} finally {
			session.finish();
		}
		const format = globals.output;
		if (result === undefined) {
			if (format === "table") runtime.io.stdout.write("done\n");
			return;
		}
		const text =
			format === "table" && action.show && typeof result !== "string"
				? action.show(result)
				: render(result, format, { columns: action.columns ?? resource.columns });
		runtime.io.stdout.write(text);
	});
	return command;
}
