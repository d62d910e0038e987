import { relative } from 'node:path';

/**
 * What `npm start` prints once the system is ready: the commands that install an example profile into the
 * local GitOps repository and show the commit. The README's quick start is this text (a test compares them
 * and runs every command of it), so keep both in step.
 */
export interface QuickStart {
  api: string;
  /** The clone's folder (where .local/ is). */
  root: string;
  /** The folder the user ran `npm start` in: paths are written relative to it when it is the clone's. */
  cwd: string;
  gitopsDir: string;
  profilesDir: string;
}

/** `$PWD`-relative when run from the clone, so the README's lines work in any clone; absolute otherwise. */
function paths(q: QuickStart) {
  const here = q.cwd === q.root;
  const rel = (p: string) => (here ? relative(q.root, p) : p);
  const url = (p: string) => (here ? `file://$PWD/${relative(q.root, p)}` : `file://${p}`);
  return { rel, url };
}

export function installCommands(q: QuickStart): { curl: string; cli: string; log: string } {
  const { rel, url } = paths(q);
  const target = url(q.gitopsDir);
  // In single quotes the shell leaves the JSON alone; `'"$PWD"'` steps out of them for the path.
  const jsonTarget = target.replace('$PWD', `'"$PWD"'`);
  const body =
    '{"name":"hello-web","namespace":"default",' +
    '"profile":{"catalog":"examples","name":"hello-web","version":"0.1.0"},' +
    `"target":{"url":"${jsonTarget}","branch":"main","path":"clusters/local"}}`;
  return {
    curl: `curl -s -X POST ${q.api}/v1/installations -H 'content-type: application/json' -d '${body}'`,
    cli: `npx profiles install examples/redis-cache@1.0.0 --repo "${target}" --branch main --path clusters/local`,
    log: `git --git-dir ${rel(q.gitopsDir)} log --stat main`,
  };
}

export function quickStartText(q: QuickStart): string {
  const { rel } = paths(q);
  const c = installCommands(q);
  return [
    `Example profiles: ${rel(q.profilesDir)} (catalog "examples": hello-web, podinfo, redis-cache, team-namespace, web-stack)`,
    `GitOps repository: ${rel(q.gitopsDir)} (branch main)`,
    '',
    'Install hello-web 0.1.0 into the GitOps repository:',
    '',
    `  ${c.curl}`,
    '',
    'and redis-cache 1.0.0 beside it, with the CLI:',
    '',
    `  ${c.cli}`,
    '',
    'and look at the commit a moment later:',
    '',
    `  ${c.log}`,
    '',
    'Publishing a newer version and upgrading to it: README.md, "Quick start".',
  ].join('\n');
}
