/**
 * The `profiles` command. It runs as one bundled file (build.mjs), never through a TypeScript loader: a
 * command's start-up is most of its wall time. A failure is one line on stderr and an exit status (exit.ts).
 */
import { CommanderError } from 'commander';
import { CliError, EXIT } from './exit.ts';
import { color } from './output.ts';
import { buildProgram } from './program.ts';

try {
  const program = buildProgram(process.argv);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander printed its message (or the help) already.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof CliError) {
    console.error(`${color.red('error:')} ${err.message}`);
    process.exitCode = err.exitCode;
  } else {
    console.error(`${color.red('error:')} ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = EXIT.failed;
  }
}
