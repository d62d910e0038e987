/** The `profiles` command tree. */
import { Command, Option } from 'commander';
import { completionCommand } from './commands/completion.ts';
import { eventsCommand } from './commands/events.ts';
import { installCommand } from './commands/install.ts';
import { installationsCommand } from './commands/installations.ts';
import { renderCommand } from './commands/render.ts';
import { searchCommand } from './commands/search.ts';
import { showCommand } from './commands/show.ts';
import { sourcesCommands } from './commands/sources.ts';
import { statusCommand } from './commands/status.ts';
import { upgradeCommand } from './commands/upgrade.ts';
import { DEFAULT_API } from './context.ts';
import { out } from './output.ts';

type Register = (program: Command) => void;

/**
 * The commands in the order the help lists them, by the words that run them. Only the command run is built:
 * building every command was a tenth of a search's CPU time. The help, `completion` and an unknown command
 * build them all. (Loading each command's module only when it runs cost more than it saved: every ES module
 * more is a file to resolve, read and link.)
 */
const COMMANDS: [names: string[], register: Register][] = [
  [['search'], searchCommand],
  [['show'], showCommand],
  [['install', 'add'], installCommand],
  [['installations'], installationsCommand],
  [['upgrade'], upgradeCommand],
  [['status'], statusCommand],
  [['sources', 'refresh'], sourcesCommands],
  [['events'], eventsCommand],
  [['render'], renderCommand],
  [['completion'], completionCommand],
];

/** The global options that take a value, so that the word after one is not taken for the command. */
const GLOBAL_WITH_VALUE = new Set(['-o', '--output', '--api', '--token']);

/** The command word of `argv` (node, script, then the arguments), if there is one before any `--`. */
export function commandWord(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The command tree `argv` needs: the one command it runs, or every command for the help and completion. */
export function buildProgram(argv: string[]): Command {
  const program = new Command('profiles')
    .description(
      'Profiles from a terminal: search the catalog, install and upgrade profiles in GitOps repositories',
    )
    .addOption(
      new Option('-o, --output <format>', 'output: table, json or yaml')
        .choices(['table', 'json', 'yaml'])
        .default('table'),
    )
    .addOption(new Option('--api <url>', 'the Profiles API').env('PROFILES_API').default(DEFAULT_API))
    .addOption(new Option('--token <token>', 'bearer token for the API').env('PROFILES_TOKEN'))
    .showHelpAfterError('(run with --help for usage)')
    // Before the commands are added, so they inherit it: main.ts maps commander's exits to ours.
    .exitOverride()
    // Help goes out like every other output (write(2); a closed pipe ends quietly).
    .configureOutput({ writeOut: (text) => out(text) })
    .addHelpText(
      'after',
      `
Examples:
  profiles search nginx
  profiles show examples/weaveworks-nginx
  profiles install examples/weaveworks-nginx@0.1.1 --repo file:///srv/gitops.git --path clusters/dev --dry-run
  profiles installations --repo file:///srv/gitops.git
  profiles upgrade --repo file:///srv/gitops.git --path clusters/dev/weaveworks-nginx --latest

Exit status: 0 success; 1 the operation failed (installation failed, conflicts, findings); 2 bad usage or input
the API refused; 3 not found; 4 refused (token); 5 the API is unreachable or unavailable.
NO_COLOR turns colours off. Each command has --help with examples.`,
    );
  const word = commandWord(argv);
  const one = COMMANDS.find(([names]) => word !== 'completion' && names.includes(word ?? ''));
  // The completion script is made from the whole command tree.
  for (const [, register] of one ? [one] : COMMANDS) register(program);
  return program;
}
