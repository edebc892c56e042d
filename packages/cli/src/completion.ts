import { Argument, type Command } from "commander";
import { examplesText } from "./options.js";
import { buildProgram, type Runtime } from "./program.js";

const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/**
 * What may follow each point of the command line: for a command path, its subcommands and long
 * flags; for a path and a flag with fixed values (`--output`, `--status`), those values. Read
 * off the commander tree, so the scripts know every command the table defines.
 */
export function completionTable(program: Command): Map<string, string[]> {
	const table = new Map<string, string[]>();
	const globals = program.options;
	const visit = (command: Command, path: string) => {
		const options = path === "" ? command.options : [...command.options, ...globals];
		table.set(path, [
			...command.commands.map((sub) => sub.name()),
			...options.map((option) => option.long).filter((long): long is string => Boolean(long)),
			"--help",
		]);
		for (const option of options) {
			if (option.long && option.argChoices) table.set(`${path ? `${path} ` : ""}${option.long}`, option.argChoices);
		}
		for (const sub of command.commands) visit(sub, path ? `${path} ${sub.name()}` : sub.name());
	};
	visit(program, "");
	return table;
}

/** Every command that runs something (`instances create`, `login`), as the words that call it. */
export function leafCommands(
	program: Command = buildProgram({ io: { stdout: process.stdout, stderr: process.stderr }, env: {} }),
): string[] {
	const leaves: string[] = [];
	const visit = (command: Command, path: string) => {
		if (command.commands.length === 0 && path !== "") leaves.push(path);
		for (const sub of command.commands) visit(sub, path ? `${path} ${sub.name()}` : sub.name());
	};
	visit(program, "");
	return leaves;
}

function cases(table: Map<string, string[]>, shell: Shell): string {
	const entries = [...table].map(([key, words]) =>
		shell === "fish"
			? `\t\tcase '${key}'\n\t\t\techo '${words.join(" ")}'`
			: `\t\t'${key}') echo '${words.join(" ")}' ;;`,
	);
	return entries.join("\n");
}

/** The words function and the walk are one algorithm in three dialects. */
export function completionScript(program: Command, shell: Shell): string {
	const table = completionTable(program);
	if (shell === "fish") {
		return `# igoudar completion for fish: igoudar completion fish > ~/.config/fish/completions/igoudar.fish
function __igoudar_words
\tswitch "$argv[1]"
${cases(table, "fish")}
\tend
end
function __igoudar_complete
\tset -l tokens (commandline -opc)
\tset -l cmdpath ''
\tfor word in $tokens[2..-1]
\t\tstring match -q -- '-*' $word; and continue
\t\tset -l candidate (string trim -- "$cmdpath $word")
\t\tif test -n "$(__igoudar_words $candidate)"
\t\t\tset cmdpath $candidate
\t\tend
\tend
\tset -l choices (__igoudar_words (string trim -- "$cmdpath $tokens[-1]"))
\tif test -n "$choices"; and string match -q -- '--*' $tokens[-1]
\t\tstring split ' ' -- $choices
\telse
\t\t__igoudar_words $cmdpath | string split ' '
\tend
end
complete -c igoudar -f -a '(__igoudar_complete)'
`;
	}
	const words = `_igoudar_words() {\n\tcase "$1" in\n${cases(table, shell)}\n\tesac\n}`;
	// bash counts words from 0 and zsh from 1; both skip the command name itself.
	const [list, first, current, add] =
		shell === "bash"
			? ["COMP_WORDS", 1, "COMP_CWORD", `COMPREPLY=($(compgen -W "$choices" -- "\${COMP_WORDS[COMP_CWORD]}"))`]
			: ["words", 2, "CURRENT", `compadd -- \${=choices}`];
	return `${shell === "zsh" ? "#compdef igoudar\n" : ""}# igoudar completion for ${shell}: source <(igoudar completion ${shell})
${words}
_igoudar() {
\tlocal cmdpath="" word candidate prev choices i
\tfor ((i = ${first}; i < ${current}; i++)); do
\t\tword="\${${list}[i]}"
\t\t[[ "$word" == -* ]] && continue
\t\tcandidate="\${cmdpath:+$cmdpath }$word"
\t\t[[ -n "$(_igoudar_words "$candidate")" ]] && cmdpath="$candidate"
\tdone
\tprev="\${${list}[${current}-1]}"
\tchoices=""
\t[[ "$prev" == --* ]] && choices="$(_igoudar_words "\${cmdpath:+$cmdpath }$prev")"
\t[[ -z "$choices" ]] && choices="$(_igoudar_words "$cmdpath")"
\t${add}
}
${shell === "bash" ? "complete -F _igoudar igoudar" : "compdef _igoudar igoudar"}
`;
}

export function completionCommand(program: Command, runtime: Runtime): void {
	program
		.command("completion")
		.description("Print the shell completion script")
		.addArgument(new Argument("<shell>").choices(SHELLS))
		.addHelpText(
			"after",
			examplesText([
				"source <(igoudar completion bash)        # in ~/.bashrc",
				"source <(igoudar completion zsh)         # in ~/.zshrc, after compinit",
				"igoudar completion fish > ~/.config/fish/completions/igoudar.fish",
			]),
		)
		.action((shell: Shell) => {
			runtime.io.stdout.write(completionScript(program, shell));
		});
}
