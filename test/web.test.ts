/**
 * The web catalog end to end in headless Chromium (Debian's chromium driven by playwright-core) against the real
 * API, indexer, watcher, installer, redis-server, nats-server and bare git repositories: search with a typo and a
 * facet, a profile's nested tree with a cycle, the install wizard from values through a dry run to a commit, a
 * new tag appearing on an open page, an upgrade with its diff; axe-core on each page; screenshots at desktop
 * and phone width in .cache/screenshots.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from './harness/browser.ts';
import { buildWeb, isWebStale, webFirstPageGzip } from '../scripts/build.ts';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { StaticTokens } from '../services/api/src/auth/static-tokens.ts';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  installerClient,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

const SHOTS = join(import.meta.dirname, '../.cache/screenshots');
const AXE = readFileSync(join(import.meta.dirname, '../node_modules/axe-core/axe.min.js'), 'utf8');
const source = (urls: string[]) =>
  'apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: examples}\nspec:\n  repositories:\n' +
  urls.map((u) => `    - url: ${u}\n`).join('');
const definition = (name: string, artifacts: string) =>
  `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: ${name}}\nspec:\n` +
  `  description: the ${name} profile\n  maintainer: web-tests\n  artifacts:\n${artifacts}`;

describe('web catalog', () => {
  let stack: Stack;
  let ins: InstallerStack;
  let dir: string;
  let examples: string;
  let browser: BrowserContext;
  let page: Page;
  let profileDir: string;

  /** No serious or critical axe-core violation on the page as it is now. */
  const accessible = async (what: string) => {
    await page.addScriptTag({ content: AXE });
    const found = (await page.evaluate(async () => {
      const r = await (globalThis as any).axe.run((globalThis as any).document, {
        resultTypes: ['violations'],
      });
      return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    })) as { id: string; impact: string }[];
    const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], `${what}: axe violations ${JSON.stringify(serious)}`);
  };
  /** Screenshots at desktop and phone width. */
  const shoot = async (name: string) => {
    for (const [w, h, tag] of [
      [1280, 900, 'desktop'],
      [390, 844, 'phone'],
    ] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.screenshot({ path: join(SHOTS, `${name}-${tag}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  before(async () => {
    if (isWebStale()) await buildWeb();
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack();
    dir = await stack.tempDir('web-');
    examples = examplesRepo(dir);
    const nest = join(dir, 'nest.git');
    gitSync(['init', '-q', '--bare', '-b', 'main', nest]);
    const work = join(dir, 'nest-work');
    gitSync(['clone', '-q', nest, work]);
    const nested = (n: string, tag: string) =>
      `    - name: ${n}\n      profile:\n        source: {url: "file://${nest}", tag: ${tag}}\n`;
    mkdirSync(join(work, 'base/config'), { recursive: true });
    mkdirSync(join(work, 'top'), { recursive: true });
    mkdirSync(join(work, 'loop'), { recursive: true });
    await writeFile(
      join(work, 'base/profile.yaml'),
      definition('base', '    - name: config\n      kustomize: {path: config}\n'),
    );
    await writeFile(
      join(work, 'base/config/cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n',
    );
    await writeFile(
      join(work, 'top/profile.yaml'),
      definition('top', nested('base', 'base/v1.0.0') + nested('loop', 'loop/v1.0.0')),
    );
    await writeFile(join(work, 'loop/profile.yaml'), definition('loop', nested('again', 'loop/v1.0.0')));
    gitSync(['add', '-A'], work);
    gitSync(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'profiles'], work);
    for (const t of ['base/v1.0.0', 'top/v1.0.0', 'loop/v1.0.0']) gitSync(['tag', t], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main', '--tags'], work);
    const sources = join(dir, 'sources');
    gitSync(['init', '-q', sources]);
    await writeFile(join(sources, 'examples.yaml'), source([`file://${examples}`, `file://${nest}`]));
    await stack.indexer();
    await stack.watcher(sources);
    ins = await startInstallerStack(stack, examples);
    await waitFor(async () => (await getJson(`${ins.api}/v1/search?q=top`)).body.total >= 1, {
      what: 'catalog indexed',
      timeoutMs: 60_000,
    });
    profileDir = await mkdtemp(join(tmpdir(), 'web-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  after(async () => {
    await browser?.close();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    await ins?.close();
    await stack?.stop();
  });

  test('the API serves the catalog at / with hashed assets cached for good, and its first page is small', async () => {
    const index = await fetch(`${ins.api}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, html);
    const js = await fetch(`${ins.api}${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
    // Outside web/dist, or missing: refused (400 for a path that leaves the folder), never a file.
    for (const escape of ['/assets/..%2F..%2Fpackage.json', '/assets/%2E%2E/index.html', '/assets/nope.js']) {
      const status = (await fetch(`${ins.api}${escape}`)).status;
      assert.ok(status === 400 || status === 404, `${escape}: ${status}`);
    }
    assert.ok(webFirstPageGzip().bytes < 150 * 1024);
  });

  test('search with a typo finds the profile, a facet toggle narrows it and lands in the URL; back returns', async () => {
    await page.goto(`${ins.api}/`);
    await page.fill('#q', 'nginz');
    await page.waitForSelector('.hit >> text=weaveworks-nginx');
    await waitFor(async () => page.url().includes('q=nginz') || undefined, { what: 'query in the URL' });
    await page.click('fieldset:has(legend:text("kind")) button:has-text("chart")');
    await waitFor(async () => page.url().includes('kind=chart') || undefined, { what: 'facet in the URL' });
    await page.waitForSelector('button[aria-pressed="true"]:has-text("chart")');
    assert.ok(await page.isVisible('.hit >> text=weaveworks-nginx'));
    await accessible('search');
    await shoot('search');
    // The dark theme follows the system's setting, and stays readable (axe checks its contrast too).
    await page.emulateMedia({ colorScheme: 'dark' });
    await accessible('search, dark');
    await page.screenshot({ path: join(SHOTS, 'search-dark-desktop.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('fieldset:has(legend:text("pre-releases")) button:has-text("release")');
    await waitFor(async () => page.url().includes('prerelease=exclude') || undefined, {
      what: 'releases only',
    });
    await page.goBack();
    await page.goBack();
    await waitFor(async () => !page.url().includes('kind=chart') || undefined, { what: 'back' });
    assert.equal(await page.inputValue('#q'), 'nginz');
  });

  test('a profile page shows the nested tree with the cycle marked, and a branch collapses', async () => {
    await page.goto(`${ins.api}/#/profiles/examples/top`);
    await page.waitForSelector('[role=tree]');
    await page.waitForSelector('[role=treeitem] .badge.cycle');
    assert.ok(await page.isVisible('text=examples/base@1.0.0'));
    assert.match(
      (await page.textContent('pre[aria-label=CLI]')) ?? '',
      /npx profiles install examples\/top@1\.0\.0 --repo/,
    );
    await accessible('profile');
    await shoot('profile');
    await page.click('button[aria-label="Collapse loop"]');
    assert.equal(await page.isVisible('[role=treeitem] .badge.cycle'), false, 'collapsed');
  });

  test('the install wizard checks the values at their line, dry-runs, commits and follows the status to committed', async () => {
    const target = gitopsRepo(dir, 'wizard');
    await page.goto(`${ins.api}/#/install/examples/weaveworks-nginx/0.1.1`);
    await page.waitForSelector('textarea[name="values-nginx-chart"]');
    await page.fill('input[name=url]', `file://${target}`);
    await page.fill('input[name=path]', 'clusters/dev');
    await page.fill('input[name=name]', 'webnginx');
    await page.fill('textarea[name="values-nginx-chart"]', 'replicaCount: 2\nbad: [1, 2\n');
    await page.click('button:text("Dry run")');
    const err = await page.waitForSelector('#err-nginx-chart');
    assert.match((await err.textContent()) ?? '', /^line \d+:/);
    await page.fill('textarea[name="values-nginx-chart"]', 'replicaCount: 2\n');
    const posted = page.waitForResponse(
      (r) => r.url().endsWith('/v1/installations') && r.request().method() === 'POST',
    );
    await page.click('button:text("Dry run")');
    const answer = await posted;
    assert.equal(answer.status(), 202, await answer.text());
    const end = await installerClient(ins.api).settle(((await answer.json()) as { id: string }).id);
    assert.equal(end.status, 'rendered', JSON.stringify(end));
    const status = await fetch(`${ins.api}/v1/installations/${end.id}`);
    assert.equal(
      status.headers.get('etag'),
      null,
      'a status is never answered 304 from the catalog generation',
    );
    const shown = await page.waitForSelector(
      '[aria-label="Dry run"] :is([data-status=rendered], [data-status=failed]), article > [role=alert]',
      { timeout: 30_000 },
    );
    assert.ok(
      await page.isVisible('[aria-label="Dry run"] pre[aria-label=Diff]'),
      (await shown.textContent()) ?? undefined,
    );
    assert.match((await page.textContent('pre[aria-label=Diff]')) ?? '', /\+\s*replicaCount: 2/);
    await accessible('install wizard');
    await shoot('install');
    await page.click('button:text("Commit")');
    await page.waitForSelector('[data-status=committed]', { timeout: 30_000 });
    const head = gitSync(['rev-parse', 'main'], target).trim();
    assert.ok(await page.isVisible(`text=${head}`), 'the commit is shown');
  });

  test('a newly pushed tag appears on an open profile page without reload', async () => {
    await page.goto(`${ins.api}/#/profiles/examples/bitnami-nginx`);
    await page.waitForSelector('.versions >> text=0.0.2');
    await page.evaluate(() => ((globalThis as any).__same = true));
    const work = join(dir, 'examples-work');
    gitSync(['clone', '-q', examples, work]);
    gitSync(['tag', 'bitnami-nginx/v0.1.0', 'bitnami-nginx/v0.0.2'], work);
    gitSync(['push', '-q', 'origin', '--tags'], work);
    const r = await fetch(`${ins.api}/v1/sources/default/examples/refresh`, { method: 'POST' });
    assert.ok(r.status < 300, `refresh answered ${r.status}`);
    await page.waitForSelector('.versions >> text=0.1.0', { timeout: 30_000 });
    assert.equal(await page.evaluate(() => (globalThis as any).__same), true, 'no reload');
  });

  test('installations show update badges; an upgrade shows its diff first, then commits', async () => {
    const target = gitopsRepo(dir, 'upgrades');
    const client = installerClient(ins.api);
    const done = await client.run('/v1/installations', {
      name: 'web',
      namespace: 'default',
      profile: { catalog: 'examples', name: 'bitnami-nginx', version: '0.0.1' },
      target: { url: `file://${target}`, branch: 'main', path: '.' },
      mode: 'commit',
      dryRun: false,
    });
    assert.equal(done.status, 'committed');
    await page.goto(`${ins.api}/#/installations`);
    await page.fill('input[name=url]', `file://${target}`);
    await page.click('button:text("Find installations")');
    await page.waitForSelector('.badge.patch');
    assert.ok(await page.isVisible('.badge.minor'));
    await accessible('installations');
    await page.click('button:has(.badge.patch)');
    await page.click('button:text("Show the diff")');
    const shown = await page.waitForSelector(
      '[aria-label=Upgrade] :is([data-status=rendered], [data-status=failed], [role=alert])',
      { timeout: 30_000 },
    );
    assert.ok(
      await page.isVisible('[aria-label=Upgrade] pre[aria-label=Diff]'),
      (await shown.textContent()) ?? undefined,
    );
    assert.match((await page.textContent('[aria-label=Upgrade] pre[aria-label=Diff]')) ?? '', /0\.0\.2/);
    await shoot('installations');
    await page.click('[aria-label=Upgrade] button:text("Upgrade")');
    await page.waitForSelector('[aria-label=Upgrade] [data-status=committed]', { timeout: 30_000 });
  });

  test('the sources page shows each source with health and counts', async () => {
    await page.goto(`${ins.api}/#/sources`);
    await page.waitForSelector('.card >> text=examples');
    assert.match((await page.textContent('.card')) ?? '', /\d+ profiles, \d+ versions/);
    await accessible('sources');
    await shoot('sources');
  });

  test('with anonymous access off, the page loads, asks for a token on the 401 and then shows the catalog', async () => {
    const token = 'web-suite-token-0123456789';
    const closed = await stack.api({
      auth: {
        authenticator: new Authenticator({
          anonymous: 'off',
          tokens: new StaticTokens([{ token, user: 'web', groups: ['web'] }]),
        }),
        defaultAccess: 'authenticated',
        policy: new WritePolicy(),
      },
    });
    await page.goto(`${closed.url}/#/?q=nginx`);
    await page.waitForSelector('form.signin input[type=password]');
    assert.equal(await page.isVisible('.hit'), false, 'nothing shown without a token');
    await page.fill('form.signin input[type=password]', token);
    await page.click('form.signin button');
    await page.waitForSelector('.hit >> text=weaveworks-nginx');
    assert.equal(
      await page.evaluate(() => (globalThis as any).sessionStorage.getItem('profiles.token')),
      token,
    );
    await shoot('sign-in');
  });
});
