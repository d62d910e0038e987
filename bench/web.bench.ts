/**
 * The web catalog's first results on a 100k-version catalog: the time from navigation (a fresh browser context,
 * nothing cached) to the first search hits on screen, beside a blank page's load from the same server in the same
 * run (the baseline: what the browser and loopback cost alone). The two take turns ROUNDS times; medians and p90
 * are printed, with the first page's JavaScript size. Headless Debian chromium driven by playwright-core; the API
 * runs in this process over a private redis-server with the catalog written by the indexer's CatalogWriter.
 *
 *   npm run bench:web        (ROUNDS=15)
 */
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/harness/browser.ts';
import { connectRedis, silentLogger } from '@profiles/shared/runtime';
import { buildWeb, isWebStale, webFirstPageGzip } from '../scripts/build.ts';
import { startRedis } from '../scripts/lib/servers.ts';
import { buildApp } from '../services/api/src/app.ts';
import { loadSyntheticCatalog } from './lib/synthetic-catalog.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const SIZE = 100_000;

if (isWebStale()) await buildWeb();
const redisServer = await startRedis();
const redis = connectRedis(redisServer.url, silentLogger(), 'bench', { autoPipelining: false });
const prefix = 'webbench:';
const t = performance.now();
const profiles = await loadSyntheticCatalog(redis, prefix, SIZE);
console.log(`loaded ${SIZE} versions (${profiles} profiles) in ${Math.round(performance.now() - t)} ms`);
const app = await buildApp({ redis, redisPrefix: prefix, log: silentLogger() });
app.get('/bench-blank', { schema: { hide: true } }, async (_req, reply) =>
  reply.type('text/html').send('<!doctype html><title>blank</title><p>blank</p>'),
);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
// Searches answer from the API's in-memory mirror once it has loaded the catalog: wait for it.
for (let i = 0; i < 600; i++) {
  const r = (await (await fetch(`${url}/v1/search?q=nginx&limit=1`)).json()) as { total: number };
  if (r.total > 0) break;
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
async function timed(path: string, selector: string): Promise<number> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const start = performance.now();
  await page.goto(`${url}${path}`, { waitUntil: 'commit' });
  await page.waitForSelector(selector);
  const ms = performance.now() - start;
  await ctx.close();
  return ms;
}
const blank: number[] = [];
const first: number[] = [];
const queries = ['nginx', 'prom', 'redis', 'kafka', 'monitoring'];
await timed('/#/?q=warm', '.muted'); // one warm-up of each: Chromium's own first start
await timed('/bench-blank', 'p');
for (let i = 0; i < ROUNDS; i++) {
  blank.push(await timed('/bench-blank', 'p'));
  first.push(await timed(`/#/?q=${queries[i % queries.length]}`, '.hit'));
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const js = webFirstPageGzip();
console.log(`first page JavaScript: ${(js.bytes / 1024).toFixed(1)} KB gzipped (${js.files.join(', ')})`);
console.log(
  `blank page load:             p50 ${pct(blank, 50).toFixed(0)} ms  p90 ${pct(blank, 90).toFixed(0)} ms`,
);
console.log(
  `catalog to first results:    p50 ${pct(first, 50).toFixed(0)} ms  p90 ${pct(first, 90).toFixed(0)} ms  (goal < 500 ms)`,
);
console.log(
  `ratio first results / blank: ${(pct(first, 50) / pct(blank, 50)).toFixed(1)}x (medians, ${ROUNDS} rounds each)`,
);
await browser.close();
await app.close();
redis.disconnect();
await redisServer.destroy();
