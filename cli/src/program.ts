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

export function buildProgram(): Command {
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
  searchCommand(program);
  showCommand(program);
  installCommand(program);
  installationsCommand(program);
  upgradeCommand(program);
  statusCommand(program);
  sourcesCommands(program);
  eventsCommand(program);
  renderCommand(program);
  completionCommand(program);
  return program;
}
