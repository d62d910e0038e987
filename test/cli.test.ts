/**
 * The `profiles` CLI end to end: the bundled bin in a child process against the real API, indexer, installer,
 * watcher, redis-server, nats-server and bare git repositories (the profiles-examples fixture, a profile with
 * two versions, a profile repository with nested profiles and a cycle).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  buildCli,
  catalogSource as source,
  cliProfileRepos,
  configMap,
  restartableApi,
  runCli,
  spawnCli,
} from './harness/cli.ts';
import { freePort, getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  EXAMPLES_URL,
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

describe('profiles CLI', () => {
  let stack: Stack;
  let ins: InstallerStack;
  let dir: string;
  let examples: string;
  let app: string;
  let sources: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);
  const commits = (repo: string) => Number(gitSync(['rev-list', '--count', 'main'], repo).trim());
  const files = (repo: string, prefix: string) =>
    gitSync(['ls-tree', '-r', '--name-only', 'main', '--', prefix], repo).split('\n').filter(Boolean);

  before(async () => {
    buildCli();
    stack = await startStack();
    dir = await stack.tempDir('cli-');
    examples = examplesRepo(dir);
    const repos = cliProfileRepos(dir);
    const nest = repos.nest;
    app = repos.app;
    sources = join(dir, 'sources');
    gitSync(['init', '-q', sources]);
    await writeFile(
      join(sources, 'examples.yaml'),
      source('examples', [`file://${examples}`, `file://${nest}`]),
    );
    await stack.indexer();
    await stack.watcher(sources);
    ins = await startInstallerStack(stack, examples);
    env = { PROFILES_API: ins.api, GIT_URL_REWRITES: `${EXAMPLES_URL}=file://${examples}` };
    await waitFor(async () => (await getJson(`${ins.api}/v1/search?q=top`)).body.total >= 1, {
      what: 'catalog indexed',
      timeoutMs: 60_000,
    });
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  test('search: a table cut to the terminal width, the same document as the API with -o json, --all pages', async () => {
    const t = await runCli(['search', 'nginx'], { ...env, COLUMNS: '72' });
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +CATALOG +LATEST +DESCRIPTION +MAINTAINER$/);
    assert.ok(
      lines.some((l) => /^weaveworks-nginx +default\/examples +0\.1\.1 /.test(l)),
      t.stdout,
    );
    assert.ok(
      lines.every((l) => l.length <= 72),
      t.stdout,
    );
    assert.ok(
      lines.some((l) => l.includes('…')),
      'a description was cut',
    );

    const j = await cli('search', 'nginx', '-o', 'json', '--kind', 'helm');
    assert.equal(j.code, 0, j.stderr);
    const api = await getJson(`${ins.api}/v1/search?q=nginx&kind=chart`);
    assert.deepEqual(JSON.parse(j.stdout), api.body);

    const all = await cli('search', '--all', '--limit', '2', '-o', 'json');
    const doc = JSON.parse(all.stdout);
    assert.ok(doc.total > 2);
    assert.equal(doc.items.length, doc.total, 'every page followed');
    assert.equal(doc.nextCursor, null);
    const facets = await cli('search', '--facets', '--catalog', 'examples');
    assert.match(facets.stdout, /^catalog: default\/examples \(\d+\)/m);
  });

  test('show: versions, artifacts, the nested tree with the cycle and the unresolved reference marked, the install line', async () => {
    const top = await cli('show', 'examples/top');
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^top 1\.0\.0 {2}catalog default\/examples$/m);
    assert.match(top.stdout, /├─ base → default\/examples\/base@1\.0\.0$/m);
    assert.match(top.stdout, /└─ loop → default\/examples\/loop@1\.0\.0$/m);
    assert.match(top.stdout, /└─ again → file:\/\/.*nest\.git loop\/v1\.0\.0 {2}⟲ cycle/m);
    assert.match(top.stdout, /^ {2}profiles install examples\/top@1\.0\.0 --repo /m);
    assert.match(top.stdout, /^Freshness: +indexed \d+[smhd] ago/m);

    const nginx = await cli('show', 'examples/weaveworks-nginx@0.1.0');
    assert.equal(nginx.code, 0, nginx.stderr);
    assert.match(nginx.stdout, /^Versions: +0\.1\.1, 0\.1\.0$/m);
    assert.match(
      nginx.stdout,
      /nested-profile +profile +https:\/\/github\.com\/weaveworks\/profiles-examples/,
    );
    assert.match(
      nginx.stdout,
      /nested-profile → https:\/\/github\.com\/.* \? not in the catalog \(unresolved\)/,
    );
    const y = await cli('show', 'examples/weaveworks-nginx', '-o', 'yaml');
    assert.match(y.stdout, /^versions:\n {2}- 0\.1\.1\n {2}- 0\.1\.0$/m);
  });

  test('install by catalog and by URL: one commit each, the status followed to the end, exit 0', async () => {
    const target = gitopsRepo(dir, 'by-catalog');
    const r = await cli(
      'install',
      'examples/weaveworks-nginx@0.1.1',
      ...['--repo', `file://${target}`, '--path', 'clusters/dev', '--name', 'pprof'],
      ...['--set', 'nginx-chart.replicaCount=2'],
    );
    assert.equal(r.code, 0, r.stderr);
    const head = gitSync(['rev-parse', 'main'], target).trim();
    assert.match(r.stdout, new RegExp(`✔ weaveworks-nginx 0\\.1\\.1: commit ${head} on file://`));
    assert.match(r.stderr, / (queued|rendering): .*$/m, 'plain progress lines without a terminal');
    assert.equal(commits(target), 2);
    const hr = gitSync(
      ['show', 'main:clusters/dev/pprof/artifacts/nginx-chart/helm-chart/HelmRelease.yaml'],
      target,
    );
    assert.match(hr, /values:\n {4}replicaCount: 2\n/, '--set typed the value as a number');

    const byUrl = gitopsRepo(dir, 'by-url');
    const u = await cli(
      'add',
      ...['--profile-url', `file://${examples}`, '--profile-tag', 'bitnami-nginx/v0.0.2'],
      ...['--repo', `file://${byUrl}`, '-o', 'json'],
    );
    assert.equal(u.code, 0, u.stderr);
    const doc = JSON.parse(u.stdout);
    assert.equal(doc.status, 'committed');
    assert.equal(doc.commit, gitSync(['rev-parse', 'main'], byUrl).trim());
    assert.ok(files(byUrl, 'bitnami-nginx').includes('bitnami-nginx/profile-installation.yaml'));
  });

  test('--dry-run prints the tree, the diff and the findings and commits nothing', async () => {
    const target = gitopsRepo(dir, 'dry');
    const r = await cli(
      'install',
      'examples/top',
      '--repo',
      `file://${target}`,
      '--path',
      'apps',
      '--dry-run',
    );
    assert.equal(r.code, 1, 'the cycle fails the render');
    const ok = await cli(
      'install',
      'examples/base',
      '--repo',
      `file://${target}`,
      '--path',
      'apps',
      '--dry-run',
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Profile tree\nbase@base\/v1\.0\.0 file:\/\/.*\n└─ config \(kustomize\)$/m);
    assert.match(ok.stdout, /^\+\+\+ b\/apps\/base\/artifacts\/config\/config\/cm\.yaml$/m);
    assert.match(ok.stdout, /^Findings\nnone: every generated object validates/m);
    assert.match(ok.stdout, /dry run: nothing was written/);
    assert.equal(commits(target), 1, 'nothing committed');
  });

  test('installations lists available updates classified patch/minor/major after newer tags are pushed', async () => {
    const target = gitopsRepo(dir, 'updates');
    const add = await cli(
      'install',
      'examples/bitnami-nginx@0.0.1',
      '--repo',
      `file://${target}`,
      '--name',
      'web',
    );
    assert.equal(add.code, 0, add.stderr);
    const before = await cli('installations', '--repo', `file://${target}`);
    assert.match(before.stdout, /^default +web +web +bitnami-nginx +0\.0\.1 +0\.0\.2 \(patch\)$/m);
    const work = join(dir, 'examples-work');
    gitSync(['clone', '-q', examples, work]);
    gitSync(['tag', 'bitnami-nginx/v0.1.0', 'bitnami-nginx/v0.0.2'], work);
    gitSync(['tag', 'bitnami-nginx/v1.0.0', 'bitnami-nginx/v0.0.2'], work);
    gitSync(['push', '-q', 'origin', '--tags'], work);
    const now = await cli('installations', '--repo', `file://${target}`);
    assert.match(now.stdout, /1\.0\.0 \(major\), 0\.1\.0 \(minor\), 0\.0\.2 \(patch\)$/m);
    const j = JSON.parse((await cli('installations', '--repo', `file://${target}`, '-o', 'json')).stdout);
    assert.deepEqual(j.items[0].updates, [
      { version: '1.0.0', change: 'major' },
      { version: '0.1.0', change: 'minor' },
      { version: '0.0.2', change: 'patch' },
    ]);
  });

  test('upgrade over a conflicting edit shows the conflict, exits 1 and commits nothing', async () => {
    const target = gitopsRepo(dir, 'upgrade');
    const i = await cli(
      'install',
      ...['--profile-url', `file://${app}`, '--profile-tag', 'app/v1.0.0'],
      ...['--repo', `file://${target}`, '--path', 'clusters/dev'],
    );
    assert.equal(i.code, 0, i.stderr);
    const file = 'clusters/dev/app/artifacts/config/config/cm.yaml';
    const work = join(dir, 'upgrade-work');
    gitSync(['clone', '-q', target, work]);
    await writeFile(join(work, file), configMap('5'));
    gitSync(['commit', '-q', '-am', 'more replicas'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const n = commits(target);

    const dry = await cli(
      'upgrade',
      '--repo',
      `file://${target}`,
      '--path',
      'clusters/dev/app',
      '--latest',
      '--dry-run',
    );
    assert.equal(dry.code, 1, dry.stdout);
    assert.match(dry.stderr, new RegExp(`conflicts with edits in the repository.*\\n {2}- ${file}$`, 'm'));
    // The same dry run as the API's document, and `status` of it: the conflict there too.
    const dryDoc = JSON.parse(
      (
        await cli(
          'upgrade',
          '1.1.0',
          '--repo',
          `file://${target}`,
          '--path',
          'clusters/dev/app',
          '--dry-run',
          '-o',
          'json',
        )
      ).stdout,
    );
    assert.deepEqual(dryDoc.conflicts, [file]);
    const status = await cli('status', dryDoc.id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^Conflicts:\\n {2}- ${file}$`, 'm'));
    // Under each file, its hunks (indented, diff3), from the installer's conflictHunks.
    const under = (text: string) => {
      const lines = text.split('\n');
      const at = lines.indexOf(`  - ${file}`);
      assert.ok(at >= 0, text);
      const end = lines.findIndex((l, i) => i > at && !l.startsWith('    ') && l !== '');
      return lines.slice(at + 1, end < 0 ? undefined : end).join('\n');
    };
    assert.ok(dryDoc.conflictHunks, 'the installer sends the hunks');
    assert.deepEqual(
      dryDoc.conflictHunks.map((h: { file: string }) => h.file),
      [file],
    );
    for (const text of [dry.stderr, status.stdout]) {
      assert.match(
        under(text),
        /^ {4}<<<<<<< repository.*\n(?:.*\n)*? {4}.*replicas: "5".*\n(?:.*\n)*? {4}=======\n(?:.*\n)*? {4}.*replicas: "2".*\n(?:.*\n)*? {4}>>>>>>> upgrade/m,
      );
    }
    const up = await cli('upgrade', '1.1.0', '--repo', `file://${target}`, '--path', 'clusters/dev/app/');
    assert.equal(up.code, 1, up.stdout);
    assert.match(
      up.stderr,
      new RegExp(`✗ .*upgrade conflicts with edits in: ${file} \\[INSTALL_CONFLICT\\]`),
    );
    assert.match(up.stderr, new RegExp(`^ {2}- ${file}$`, 'm'));
    assert.equal(commits(target), n, 'nothing committed');
    assert.match(gitSync(['show', `main:${file}`], target), /replicas: "5"/);
  });

  test('render --out writes with no server exactly what the installer commits', async () => {
    const target = gitopsRepo(dir, 'rendered');
    const args = [
      'examples/weaveworks-nginx@0.1.1',
      '--path',
      'clusters/dev',
      '--name',
      'pprof',
      '--set',
      'nginx-chart.replicaCount=3',
    ];
    assert.equal((await cli('install', ...args, '--repo', `file://${target}`)).code, 0);
    const out = join(dir, 'render-out');
    const r = await cli('render', ...args, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^weaveworks-nginx@weaveworks-nginx\/v0\.1\.1 /m);
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    const written = walk(out)
      .map((f) => relative(out, f))
      .sort();
    assert.deepEqual(written, files(target, 'clusters/dev/pprof').sort());
    const id = /installation-id: .*/g;
    for (const f of written) {
      const mine = readFileSync(join(out, f), 'utf8');
      assert.equal(mine.replace(id, ''), gitSync(['show', `main:${f}`], target).replace(id, ''), f);
    }
    // With no API at all, by URL.
    const alone = await runCli(
      [
        'render',
        '--profile-url',
        `file://${app}`,
        '--profile-tag',
        'app/v1.1.0',
        '--out',
        join(dir, 'alone'),
      ],
      { PROFILES_API: 'http://127.0.0.1:9' },
    );
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(
      readFileSync(join(dir, 'alone/app/artifacts/config/config/cm.yaml'), 'utf8'),
      /replicas: "2"/,
    );
  });

  test('sources: health and counts of each catalog source; refresh asks for a rescan; completion names every command', async () => {
    const t = await cli('sources');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^NAMESPACE +NAME +READY +PROFILES +VERSIONS +REPOS +INDEXED +LAST ERROR$/m);
    assert.match(t.stdout, /^default +examples +True +\d+ +\d+ +2 +\d+[smhd] ago/m);
    const doc = JSON.parse((await cli('sources', '-o', 'json')).stdout);
    const api = (await getJson(`${ins.api}/v1/sources`)).body;
    assert.deepEqual(
      doc.items.map((s: { name: string; profiles: number }) => [s.name, s.profiles]),
      api.items.map((s: { name: string; profiles: number }) => [s.name, s.profiles]),
    );

    const r = await cli('refresh', 'examples');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'refresh of default/examples requested; see it with: profiles sources\n');
    const j = await cli('refresh', 'default/examples', '-o', 'json');
    assert.deepEqual(JSON.parse(j.stdout), { refreshing: ['default/examples'] });
    const missing = await cli('refresh', 'no-such-source');
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /^error: .*no-such-source.* not found .*\[CATALOG_NOT_FOUND\]$/m);

    // Each shell's script names every command (and the install alias) where that shell looks for them.
    const entry: Record<string, (name: string) => RegExp> = {
      bash: (n) => new RegExp(`^ {4}${n}\\) opts='`, 'm'),
      zsh: (n) => new RegExp(`^ {4}'${n}:`, 'm'),
      fish: (n) => new RegExp(`^complete -c profiles -n __fish_use_subcommand -a ${n} `, 'm'),
    };
    for (const [shell, line] of Object.entries(entry)) {
      const c = await cli('completion', shell);
      assert.equal(c.code, 0, c.stderr);
      for (const name of ['search', 'show', 'install', 'add', 'upgrade', 'status', 'refresh', 'render'])
        assert.match(c.stdout, line(name), `${shell} completes ${name}`);
    }
  });

  test('events: a dropped connection resumes after the last event, nothing lost, nothing twice', async () => {
    const port = await freePort();
    const serve = () => restartableApi(stack, port);
    let stop = await serve();
    const ev = spawnCli(['events', '-o', 'json'], { PROFILES_API: `http://127.0.0.1:${port}` });
    try {
      const seen = () =>
        ev
          .out()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { id: string; event: any });
      const about = (name: string) =>
        seen().filter((e) => JSON.stringify(e.event.data).includes(`"${name}"`));
      await new Promise((r) => setTimeout(r, 500));
      await writeFile(join(sources, 'late-one.yaml'), source('late-one', [`file://${app}`]));
      await waitFor(() => about('late-one').length > 0, { what: 'late-one events', timeoutMs: 30_000 });
      await stop();
      await writeFile(join(sources, 'late-two.yaml'), source('late-two', [`file://${app}`]));
      await waitFor(async () => (await getJson(`${ins.api}/v1/sources/default/late-two`)).body.item?.ready, {
        what: 'late-two indexed while the events API is down',
        timeoutMs: 30_000,
      });
      assert.equal(about('late-two').length, 0);
      stop = await serve();
      await waitFor(() => about('late-two').length > 0, {
        what: 'late-two events after reconnect',
        timeoutMs: 30_000,
      });
      const ids = seen().map((e) => Number(e.id));
      assert.deepEqual(
        ids,
        [...new Set(ids)].sort((a, b) => a - b),
        'increasing, no repeats',
      );
      assert.ok(
        ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1),
        `no gaps: ${ids.join(',')}`,
      );
    } finally {
      ev.child.kill();
      await stop();
    }
  });

  test('failures: one line naming the problem and a distinct exit status', async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ['show', 'examples/no-such-profile'],
        3,
        /^error: .*no-such-profile.*not found.*\[PROFILE_NOT_FOUND\]$/,
      ],
      [
        ['search', '--version', 'not[a range'],
        2,
        /^error: .*not a semver range \(parameter: version\) \[BAD_REQUEST\]$/,
      ],
      [
        ['install', 'examples/base', '--repo', 'file:///x.git', '--name', 'Bad_Name'],
        2,
        /^error: .*\(parameter: name\) \[REQUEST_FIELD_INVALID\]$/,
      ],
      [
        ['show', 'weaveworks-nginx'],
        2,
        /^error: "weaveworks-nginx": name a profile as CATALOG\/PROFILE\[@VERSION\]/,
      ],
      [['install', 'examples/base'], 2, /required option '--repo <url>' not specified/],
    ];
    for (const [args, code, line] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, line, args.join(' '));
      assert.equal(r.stdout, '');
    }
    const closed = await freePort();
    const down = await runCli(['search', 'nginx'], { PROFILES_API: `http://127.0.0.1:${closed}` });
    assert.equal(down.code, 5);
    assert.equal(
      down.stderr,
      `error: cannot reach the Profiles API at http://127.0.0.1:${closed} — is it running? (\`npm start\`)\n`,
    );
  });
});
