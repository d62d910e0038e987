/**
 * Upgrade property on real parts: random sequences of installs, upgrades and downgrades across the real
 * profiles-examples tags (weaveworks-nginx 0.1.0 <-> 0.1.1, with its nested profile), started through random
 * ids of the installation or by its path, with and without values, mixed with the user's own edits. After
 * every step the committed folder equals a fresh rendering of the version and values the repository records,
 * plus the user's edits, and every Flux object in it validates against the Flux CRD schemas; in either layout
 * (the default or pctl's names and paths), which the record keeps.
 *
 * Fixed seed and a few short sequences for CI; PROPERTY_RUNS and PROPERTY_SEED widen the search.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import fc from 'fast-check';
import { parseYaml, parseYamlDocuments, type InstallLayout } from '@profiles/shared';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { ProfileRepos } from '../services/installer/src/profile-repos.ts';
import { renderInstallation } from '../services/installer/src/render.ts';
import { resolveProfile } from '../services/installer/src/resolve-tree.ts';
import { GitAccess, noSecrets, rewriteConfig } from '@profiles/shared/git';
import { FIXTURE_BUNDLE } from './harness/git.ts';
import { startStack, type Stack } from './harness/index.ts';
import {
  EXAMPLES_URL,
  committedTree,
  examplesRepo,
  gitopsRepo,
  gitSync,
  installerClient,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

const VERSIONS = ['0.1.0', '0.1.1'] as const;
const DEPLOYMENT = 'artifacts/nginx-deployment/nginx/deployment/deployment.yaml';
// The schemas the issue names (../shared/schemas/flux, beside the fixtures), else the installer's bundled copy.
const SHARED_SCHEMAS = join(dirname(dirname(FIXTURE_BUNDLE)), 'schemas/flux');

type Values = Record<string, Record<string, unknown>>;
type Step =
  | {
      op: 'upgrade';
      version: '0.1.0' | '0.1.1' | 'latest';
      via: 'id' | 'path';
      pick: number;
      values?: Values;
    }
  | { op: 'edit'; image: string };

// Plain objects (fast-check may make null-prototype ones), as values arrive from JSON.
const plain = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
const valuesArb: fc.Arbitrary<Values | undefined> = fc
  .oneof(
    fc.constant(undefined),
    fc.constant({}),
    fc.record({ 'nginx-chart': fc.record({ replicaCount: fc.integer({ min: 1, max: 9 }) }) }),
    fc.record({
      'nginx-chart': fc.record({ replicaCount: fc.integer({ min: 1, max: 9 }) }),
      'nested-profile/nginx-server': fc.record({ service: fc.record({ type: fc.constantFrom('NodePort') }) }),
    }),
  )
  .map(plain);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      {
        op: fc.constant('upgrade' as const),
        version: fc.constantFrom('0.1.0' as const, '0.1.1' as const, 'latest' as const),
        via: fc.constantFrom('id' as const, 'path' as const),
        pick: fc.nat(),
        values: valuesArb,
      },
      { requiredKeys: ['op', 'version', 'via', 'pick'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('edit' as const),
      image: fc.constantFrom('1.25.3', '1.27.0', '1.21.6'),
    }),
  },
);
const scenarioArb = fc.record({
  path: fc.constantFrom('clusters', 'apps/dev', '.'),
  // Both layouts: pctl's names and paths must survive every upgrade as the default ones do.
  layout: fc.constantFrom('profiles' as const, 'pctl' as const),
  version: fc.constantFrom(...VERSIONS),
  values: valuesArb,
  steps: fc.array(stepArb, { minLength: 2, maxLength: 4 }),
});

describe('upgrade property', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;
  let c: ReturnType<typeof installerClient>;
  let repos: ProfileRepos;
  let validator: FluxValidator;
  let runs = 0;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('upgrade-property-');
    examples = examplesRepo(dir);
    ins = await startInstallerStack(stack, examples, 1);
    c = installerClient(ins.api);
    const env = { config: rewriteConfig([`${EXAMPLES_URL}=file://${examples}`]) };
    repos = new ProfileRepos(
      join(dir, 'reference-cache'),
      new GitAccess({
        secrets: noSecrets,
        policy: { allowFile: true, denyHosts: [] },
        base: env,
        code: 'BAD_REQUEST',
      }),
    );
    validator = await FluxValidator.load(existsSync(SHARED_SCHEMAS) ? SHARED_SCHEMAS : undefined);
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const withoutIds = (text: string) => text.replace(/(installation-id: ).*/g, '$1-');

  /** What the repository should hold: an installation at `path` in `layout`, and the user's image edit. */
  interface State {
    path: string;
    version: string;
    values: Values;
    image?: string;
    layout: InstallLayout;
  }

  /** What a fresh install of the state's version and values would commit, plus the user's image edit. */
  const expected = async ({ path, version, values, image, layout }: State) => {
    const source = { url: `file://${examples}`, tag: `weaveworks-nginx/v${version}` };
    const profile = await resolveProfile(repos, source);
    const target = { url: 'file:///unused', branch: 'main', path };
    const r = renderInstallation(
      profile,
      { id: '-', name: 'app', namespace: 'default', target, values, profile: source, layout },
      validator,
    );
    const out = new Map<string, string>();
    for (const [f, data] of r.files) out.set(f, withoutIds(data.toString('utf8')));
    const dep = posix.join(r.dir, DEPLOYMENT);
    if (image) out.set(dep, out.get(dep)!.replace(/image: nginx:\S+/, `image: nginx:${image}`));
    return out;
  };

  const check = async (repo: string, state: State) => {
    const { path, version, values, layout } = state;
    const folder = posix.join(path, 'app');
    const got = committedTree(repo, folder);
    const want = await expected(state);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the files of a fresh install');
    for (const [f, text] of want) assert.equal(withoutIds(got.get(f)!), text, f);
    const record = parseYaml(got.get(posix.join(folder, 'profile-installation.yaml'))!) as {
      spec: { source: { tag: string }; values?: Values; layout?: string };
    };
    assert.equal(record.spec.layout ?? 'profiles', layout, 'the recorded layout');
    assert.equal(record.spec.source.tag, `weaveworks-nginx/v${version}`);
    assert.deepEqual(record.spec.values ?? {}, values);
    for (const [f, text] of got) {
      if (!/(kustomize-flux|HelmRelease|HelmRepository)\.yaml$/.test(f)) continue;
      for (const o of parseYamlDocuments(text)) assert.deepEqual(validator.validate(f, o as object), [], f);
    }
  };

  test('after every step the repository holds a fresh install of what it records, plus the user edits', async () => {
    const seed = Number(process.env.PROPERTY_SEED ?? 3);
    const numRuns = Number(process.env.PROPERTY_RUNS ?? 3);
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const repo = gitopsRepo(dir, `prop-${++runs}`);
        const url = `file://${repo}`;
        const first = await c.run('/v1/installations', {
          name: 'app',
          namespace: 'default',
          profile: { url: `file://${examples}`, tag: `weaveworks-nginx/v${s.version}` },
          target: { url, branch: 'main', path: s.path },
          ...(s.layout === 'pctl' ? { layout: 'pctl' } : {}),
          ...(s.values ? { values: s.values } : {}),
        });
        assert.equal(first.status, 'committed', first.reason);
        const ids = [first.id as string];
        let version: string = s.version;
        let values: Values = s.values ?? {};
        let image: string | undefined;
        await check(repo, { path: s.path, version, values, image, layout: s.layout });
        // One clone of the user's per scenario, brought to the branch head before each edit.
        const work = join(dir, `prop-edit-${runs}`);
        let cloned = false;
        for (const step of s.steps) {
          if (step.op === 'edit') {
            if (!cloned) gitSync(['clone', '-q', repo, work]);
            else {
              gitSync(['fetch', '-q', 'origin'], work);
              gitSync(['reset', '-q', '--hard', 'origin/main'], work);
            }
            cloned = true;
            const file = join(work, s.path, 'app', DEPLOYMENT);
            const text = gitSync(['show', `HEAD:${posix.join(s.path, 'app', DEPLOYMENT)}`], work);
            writeFileSync(file, text.replace(/image: nginx:\S+/, `image: nginx:${step.image}`));
            gitSync(['commit', '-qam', 'user edit', '--allow-empty'], work);
            gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
            image = step.image;
          } else {
            const wanted = step.version === 'latest' ? '0.1.1' : step.version;
            const nextValues = step.values ?? values;
            const same = wanted === version && JSON.stringify(nextValues) === JSON.stringify(values);
            const head = gitSync(['rev-parse', 'main'], repo);
            const body = { version: step.version, ...(step.values ? { values: step.values } : {}) };
            const doc =
              step.via === 'id'
                ? await c.run(`/v1/installations/${ids[step.pick % ids.length]}/upgrade`, body)
                : await c.run('/v1/repositories/installations/upgrade', {
                    url,
                    path: posix.join(s.path, 'app'),
                    ...body,
                  });
            assert.equal(
              doc.status,
              same ? 'unchanged' : 'committed',
              JSON.stringify({ step, doc: doc.reason }),
            );
            if (same) assert.equal(gitSync(['rev-parse', 'main'], repo), head, 'no commit');
            else ids.push(doc.id as string);
            version = wanted;
            values = nextValues;
          }
          await check(repo, { path: s.path, version, values, image, layout: s.layout });
        }
      }),
      { seed, numRuns, endOnFailure: true },
    );
  });
});
