/**
 * `profiles completion bash|zsh|fish`: a completion script made from the command tree itself, so every
 * command, alias, option and choice added later completes without touching this file.
 */
import type { Command, Option } from 'commander';
import { out } from '../output.ts';
import { CliError, EXIT } from '../exit.ts';

interface Spec {
  name: string;
  description: string;
  options: { flags: string[]; description: string; takesValue: boolean; choices: string[] }[];
}

function optionsOf(cmd: Command): Spec['options'] {
  return (cmd.options as Option[]).map((o) => ({
    flags: [o.short, o.long].filter((f): f is string => Boolean(f)),
    description: o.description,
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
  }));
}

function specs(program: Command): { global: Spec['options']; commands: Spec[] } {
  const commands: Spec[] = [];
  for (const c of program.commands) {
    for (const name of [c.name(), ...c.aliases()])
      commands.push({ name, description: c.description(), options: optionsOf(c) });
  }
  return { global: optionsOf(program), commands };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(program: Command): string {
  const { global, commands } = specs(program);
  const flags = (o: Spec['options']) => o.flatMap((x) => x.flags).join(' ');
  const cases = commands
    .map((c) => `    ${c.name}) opts=${q(`${flags(c.options)} ${flags(global)}`)} ;;`)
    .join('\n');
  const choices = [...global, ...commands.flatMap((c) => c.options)]
    .filter((o) => o.choices.length)
    .flatMap((o) =>
      o.flags.map(
        (f) => `    ${f}) COMPREPLY=($(compgen -W ${q(o.choices.join(' '))} -- "$cur")); return ;;`,
      ),
    );
  const unique = [...new Set(choices)].join('\n');
  return `# bash completion for profiles: source <(profiles completion bash)
_profiles() {
  local cur prev cmd opts i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${unique}
  esac
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W ${q(`${commands.map((c) => c.name).join(' ')} ${flags(global)}`)} -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
    *) opts=${q(flags(global))} ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _profiles profiles
`;
}

function zsh(program: Command): string {
  const { global, commands } = specs(program);
  const esc = (s: string) => s.replace(/[[\]:'\\]/g, '\\$&');
  const arg = (o: Spec['options'][number]) => {
    const value = o.takesValue ? `:value:${o.choices.length ? `(${o.choices.join(' ')})` : ''}` : '';
    const names = o.flags.length > 1 ? `{${o.flags.join(',')}}` : o.flags[0];
    return `    ${names}'[${esc(o.description)}]${value}'`;
  };
  const cases = commands
    .map(
      (c) =>
        `      ${c.name})\n        _arguments \\\n${[...c.options, ...global].map(arg).join(' \\\n')} \\\n    '*:argument:_files'\n        ;;`,
    )
    .join('\n');
  return `#compdef profiles
# zsh completion for profiles: profiles completion zsh > "\${fpath[1]}/_profiles"
_profiles() {
  local -a commands
  commands=(
${commands.map((c) => `    '${c.name}:${esc(c.description)}'`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _profiles profiles
`;
}

function fish(program: Command): string {
  const { global, commands } = specs(program);
  const line = (o: Spec['options'][number], cond: string) => {
    const parts = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`));
    const values = o.choices.length ? ` -x -a ${q(o.choices.join(' '))}` : o.takesValue ? ' -r' : '';
    return `complete -c profiles ${cond}${parts.join(' ')}${values} -d ${q(o.description)}`;
  };
  return [
    '# fish completion for profiles: profiles completion fish > ~/.config/fish/completions/profiles.fish',
    'complete -c profiles -f',
    ...commands.map(
      (c) => `complete -c profiles -n __fish_use_subcommand -a ${c.name} -d ${q(c.description)}`,
    ),
    ...global.map((o) => line(o, '')),
    ...commands.flatMap((c) => c.options.map((o) => line(o, `-n '__fish_seen_subcommand_from ${c.name}' `))),
    '',
  ].join('\n');
}

export function completionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Examples:
  source <(profiles completion bash)                      (or add it to ~/.bashrc)
  profiles completion zsh > "\${fpath[1]}/_profiles"
  profiles completion fish > ~/.config/fish/completions/profiles.fish`,
    )
    .action((shell: string) => {
      const make = { bash, zsh, fish }[shell as 'bash'];
      if (!make)
        throw new CliError(`completion ${JSON.stringify(shell)}: choose bash, zsh or fish`, EXIT.usage);
      out(make(program));
    });
}
