/**
 * Metrics and traces of the compiled services as separate processes, after real work: a folder source listing
 * a real git repository and one that does not exist is indexed, an install request commits to a real GitOps
 * repository. Each service's /metrics carries the values that work must leave; an OTLP/HTTP receiver of the
 * test's own gets the spans, and one catalog change and one install are each one trace across the services.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, startNats, startRedis, waitFor, type LocalServer } from './harness/index.ts';
import { examplesRepo, gitopsRepo, gitSync } from './harness/installer.ts';
import { tempRoot } from './harness/git.ts';
import { startOtlpReceiver, type ReceivedSpan } from './harness/otlp.ts';
import { parsePrometheus, sampleValue, startServices, type RunningServices } from './harness/services.ts';

let redis: LocalServer;
let nats: LocalServer;
let services: RunningServices;
let tmp: { dir: string; remove: () => Promise<void> };
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let watchDir: string;
let installId: string;
let examples: string;
let gitops: string;
const missing = 'file:///nonexistent/profiles.git';
/** Every series name the services exposed in the test, to check the dashboard and the alerts against. */
const exposed = new Set<string>();
/** Series only the watcher's Kubernetes mode exposes (its status writer). */
const KUBERNETES_ONLY = ['profiles_status_writes_total', 'profiles_status_write_backoffs_total'];

before(async () => {
  [redis, nats, otlp] = await Promise.all([startRedis(), startNats(), startOtlpReceiver()]);
  tmp = await tempRoot('metrics-');
  examples = examplesRepo(tmp.dir);
  gitops = gitopsRepo(tmp.dir);
  watchDir = join(tmp.dir, 'sources');
  await mkdir(watchDir);
  await writeFile(
    join(watchDir, 'examples.yaml'),
    'apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata:\n  name: examples\n' +
      `spec:\n  repositories:\n    - url: file://${examples}\n    - url: ${missing}\n`,
  );
  services = await startServices({
    REDIS_URL: redis.url,
    NATS_URL: nats.url,
    WATCH_DIR: watchDir,
    REPO_ALLOW_FILE: 'true',
    // Anonymous reads and writes, as under npm start: authentication is not what this suite is about.
    AUTH_ANONYMOUS: 'open',
    // The fixture's nested profiles name it by its GitHub URL.
    GIT_URL_REWRITES: `https://github.com/weaveworks/profiles-examples=file://${examples}`,
    SECRETS_DIR: join(tmp.dir, 'no-secrets'),
    INSTALLER_WORK_DIR: join(tmp.dir, 'installer'),
    API_HOST: '127.0.0.1',
    HEALTH_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
});
after(async () => {
  await services?.stop();
  await Promise.all([redis?.destroy(), nats?.destroy(), otlp?.close()]);
  await tmp?.remove();
});

const scrape = async (url: string) => {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const samples = parsePrometheus(await r.text());
  for (const x of samples) exposed.add(x.name);
  return samples;
};

test('after indexing a folder source and one install, every service reports what it did', async () => {
  const items = await waitFor(
    async () => {
      const r = await getJson(`${services.api}/v1/profiles`);
      return r.status === 200 && r.body.items.length > 0 ? r.body.items : undefined;
    },
    { timeoutMs: 60_000, what: 'the fixture repository indexed' },
  );
  const post = await getJson(`${services.api}/v1/installations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'nginx',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
      target: { url: `file://${gitops}`, branch: 'main', path: 'clusters/dev' },
      mode: 'commit',
    }),
  });
  assert.equal(post.status, 202, JSON.stringify(post.body));
  installId = post.body.id;
  const done = await waitFor(
    async () => {
      const r = await getJson(`${services.api}/v1/installations/${post.body.id}`);
      return ['committed', 'failed'].includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 60_000, what: 'the install finished' },
  );
  assert.equal(done.status, 'committed', JSON.stringify(done));
  assert.ok(gitSync(['log', '--oneline', 'main'], gitops).split('\n').filter(Boolean).length >= 2);

  const watcher = await scrape(services.health.watcher);
  assert.ok(sampleValue(watcher, 'profiles_events_published_total')! >= 1);
  assert.equal(sampleValue(watcher, 'profiles_publish_backlog'), 0);
  const beat = sampleValue(watcher, 'profiles_watcher_last_publish_timestamp_seconds')!;
  assert.ok(beat > Date.now() / 1000 - 120 && beat <= Date.now() / 1000, `heartbeat ${beat}`);

  // The indexer's numbers settle once the outbox is drained and the consumer has acked everything.
  const indexer = await waitFor(
    async () => {
      const s = await scrape(services.health.indexer);
      const idle =
        sampleValue(s, 'profiles_outbox_length') === 0 &&
        sampleValue(s, 'profiles_consumer_ack_pending', { consumer: 'indexer' }) === 0;
      return idle ? s : undefined;
    },
    { what: 'the indexer idle' },
  );
  const ix = { consumer: 'indexer', stream: 'PROFILES_SOURCES' };
  assert.ok(sampleValue(indexer, 'profiles_events_consumed_total', ix)! >= 1);
  assert.equal(sampleValue(indexer, 'profiles_events_failed_total', ix), 0);
  assert.equal(sampleValue(indexer, 'profiles_consumer_pending', ix), 0);
  const good = { repository: `file://${examples}` };
  assert.ok(sampleValue(indexer, 'profiles_repository_scan_duration_seconds_count', good)! >= 1);
  assert.ok(sampleValue(indexer, 'profiles_repository_scan_duration_seconds_sum', good)! > 0);
  assert.equal(sampleValue(indexer, 'profiles_repository_scan_failures_total', good), 0);
  assert.ok(sampleValue(indexer, 'profiles_repository_scan_failures_total', { repository: missing })! >= 1);
  assert.ok(sampleValue(indexer, 'profiles_redis_writes_total')! >= 1);
  const names = new Set(items.map((i: { name: string }) => i.name));
  assert.equal(sampleValue(indexer, 'profiles_catalog_profiles'), names.size);
  assert.equal(sampleValue(indexer, 'profiles_catalog_sources'), 1);
  assert.ok(sampleValue(indexer, 'profiles_catalog_events_published_total')! >= 1);

  const installer = await scrape(services.health.installer);
  const inst = { consumer: 'installer', stream: 'PROFILES_INSTALLS' };
  assert.equal(sampleValue(installer, 'profiles_events_consumed_total', inst), 1);
  assert.equal(sampleValue(installer, 'profiles_events_redelivered_total', inst), 0);
  assert.equal(sampleValue(installer, 'profiles_installs_total', { outcome: 'committed' }), 1);
  assert.equal(sampleValue(installer, 'profiles_installs_total', { outcome: 'failed' }), 0);
  assert.equal(
    sampleValue(installer, 'profiles_install_duration_seconds_count', { outcome: 'committed' }),
    1,
  );
  assert.equal(sampleValue(installer, 'profiles_install_queue_depth'), 0);

  const api = await scrape(services.api);
  const listed = { http_route: '/v1/profiles', http_request_method: 'GET', http_response_status_code: '200' };
  assert.ok(sampleValue(api, 'http_server_request_duration_count', listed)! >= 1);
  const posted = {
    http_route: '/v1/installations',
    http_request_method: 'POST',
    http_response_status_code: '202',
  };
  assert.equal(sampleValue(api, 'http_server_request_duration_count', posted), 1);
  assert.equal(sampleValue(api, 'profiles_sse_clients'), 0);
  assert.equal(sampleValue(api, 'profiles_sse_events_sent_total'), 0);
  // The search mirror's size, as /readyz reports it (informative there: Redis answers until it is loaded).
  const ready = (await (await fetch(`${services.api}/readyz`)).json()) as {
    mirror?: { loaded: boolean; profiles: number };
  };
  assert.equal(ready.mirror?.loaded, true);
  assert.ok(ready.mirror.profiles > 0);
  assert.equal(sampleValue(api, 'profiles_api_search_mirror_profiles'), ready.mirror.profiles);
});

test('the Grafana dashboard and the alert rules use only series the services expose', async () => {
  assert.ok(exposed.size > 20, 'the scrape test ran first');
  const dashboard = JSON.parse(await readFile('deploy/monitoring/grafana-dashboard.json', 'utf8'));
  const rules = await readFile('deploy/monitoring/prometheus-rules.yaml', 'utf8');
  const exprs = [
    ...dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)),
    ...[...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!),
  ];
  assert.ok(exprs.length >= 20);
  const known = new Set([...exposed, ...KUBERNETES_ONLY]);
  for (const e of exprs)
    for (const [name] of e.matchAll(/\b(?:profiles|http_server)_\w+/g))
      assert.ok(known.has(name), `${name} (in ${e}) is not a series any service exposes`);
});

/** The spans of one trace, once `done` holds for them (spans arrive in batches from four processes). */
async function traceOf(first: () => ReceivedSpan | undefined, done: (spans: ReceivedSpan[]) => boolean) {
  return waitFor(
    () => {
      const root = first();
      if (!root) return undefined;
      const spans = otlp.spans.filter((s) => s.traceId === root.traceId);
      return done(spans) ? spans : undefined;
    },
    { timeoutMs: 30_000, what: 'the whole trace received' },
  );
}

/** The one span of `spans` called `name`, checked to be a child of `parent` (or a root when null). */
function spanOf(spans: ReceivedSpan[], name: string, service: string, parent: ReceivedSpan | null) {
  const hits = spans.filter((s) => s.name === name);
  assert.ok(hits.length >= 1, `a span ${name} in ${JSON.stringify(spans.map((s) => s.name))}`);
  const s = parent ? hits.find((h) => h.parentSpanId === parent.spanId) : hits.find((h) => !h.parentSpanId);
  assert.ok(s, `${name} is a child of ${parent?.name ?? 'nothing'}`);
  assert.equal(s.service, service, `${name} comes from ${service}`);
  return s;
}

test('a folder change is one trace: watcher publish, indexer apply, Redis write, outbox, SSE', async () => {
  const sse = await fetch(`${services.api}/v1/events`);
  assert.equal(sse.status, 200);
  const reader = sse.body!.getReader();
  await reader.read(); // ": connected": the ordered consumer exists, the change below reaches this client
  await writeFile(
    join(watchDir, 'inline.yaml'),
    'apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata:\n  name: inline\n' +
      'spec:\n  profiles:\n    - name: traced\n      tag: traced/v1.0.0\n      url: https://example.com/traced\n',
  );
  const spans = await traceOf(
    () =>
      otlp.spans.find(
        (s) =>
          s.name === 'watcher publish source event' && s.attributes['profiles.source'] === 'default/inline',
      ),
    (all) =>
      [
        'indexer apply source event',
        'indexer write catalog to redis',
        'indexer publish catalog event',
        'api send catalog event to sse client',
      ].every((n) => all.some((s) => s.name === n)),
  );
  await reader.cancel();
  const publish = spanOf(spans, 'watcher publish source event', 'profiles-watcher', null);
  const apply = spanOf(spans, 'indexer apply source event', 'profiles-indexer', publish);
  assert.equal(apply.attributes['profiles.source'], 'default/inline');
  const write = spanOf(spans, 'indexer write catalog to redis', 'profiles-indexer', apply);
  const outbox = spanOf(spans, 'indexer publish catalog event', 'profiles-indexer', write);
  spanOf(spans, 'api send catalog event to sse client', 'profiles-api', outbox);
  assert.deepEqual([...new Set(spans.map((s) => s.service))].sort(), [
    'profiles-api',
    'profiles-indexer',
    'profiles-watcher',
  ]);
});

test('an install request is one trace: API, JetStream, installer, git, render, status', async () => {
  assert.ok(installId, 'the metrics test installed first');
  const spans = await traceOf(
    () =>
      otlp.spans.find(
        (s) =>
          s.name === 'api publish install request' && s.attributes['profiles.installation.id'] === installId,
      ),
    (all) =>
      all.some((s) => s.name === 'git push') &&
      all.some((s) => s.attributes['profiles.installation.status'] === 'committed'),
  );
  const request = spanOf(spans, 'POST /v1/installations', 'profiles-api', null);
  assert.equal(request.attributes['http.response.status_code'], 202);
  const publish = spanOf(spans, 'api publish install request', 'profiles-api', request);
  const handle = spanOf(spans, 'installer handle install request', 'profiles-installer', publish);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const under = (s: ReceivedSpan, ancestor: ReceivedSpan): boolean =>
    s.parentSpanId === ancestor.spanId ||
    (byId.has(s.parentSpanId) && under(byId.get(s.parentSpanId)!, ancestor));
  for (const name of [
    'git fetch',
    'installer render profile',
    'git commit',
    'git push',
    'installer write install status',
  ]) {
    const s = spans.find((x) => x.name === name);
    assert.ok(s && under(s, handle), `${name} inside the installer's span`);
    assert.equal(s.service, 'profiles-installer');
  }
  const render = spans.find((s) => s.name === 'installer render profile')!;
  assert.equal(render.attributes['profiles.profile'], 'weaveworks-nginx');
  assert.equal(render.attributes['profiles.version'], '0.1.1');
  // The git commands name the repositories they talk to: the profile's and the GitOps one.
  const repos = new Set(
    spans.filter((s) => s.name.startsWith('git ')).map((s) => s.attributes['profiles.repository']),
  );
  assert.ok(repos.has(`file://${gitops}`), `the GitOps repository among ${[...repos].join(', ')}`);
  assert.ok(repos.has(`file://${examples}`), `the profile repository among ${[...repos].join(', ')}`);
  // No credential anywhere: every attribute of every span is free of the userinfo part of a URL.
  for (const s of otlp.spans)
    for (const v of Object.values(s.attributes)) assert.doesNotMatch(String(v), /:\/\/[^/\s]*:[^/\s]*@/);
});
