import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedBody } from './page-encodings.ts';
import { SearchPages, type Page } from './search-pages.ts';

const page = (text: string, stable?: string): Page => ({
  body: new EncodedBody(Buffer.from(text)),
  engine: 'memory',
  ...(stable ? { stable } : {}),
});
const URL = 'all /v1/search?q=a';

test('requests that miss together share one computation, and then the page is held', async () => {
  const pages = new SearchPages();
  let made = 0;
  let finish!: (p: Page) => void;
  const make = () => {
    made++;
    return new Promise<Page>((resolve) => (finish = resolve));
  };
  const waiting = Array.from({ length: 64 }, () => pages.obtain('7', URL, make));
  finish(page('{"total":1}'));
  const answers = await Promise.all(waiting);
  assert.equal(made, 1, 'one computation for 64 requests');
  assert.ok(answers.every((a) => a === answers[0]));
  assert.equal(await pages.obtain('7', URL, make), answers[0], 'held afterwards');
  assert.equal(made, 1);
  assert.equal(pages.get('8', URL), undefined, 'held for its own generation only');
  await pages.obtain('8', URL, async () => page('{"total":2}'));
  assert.equal(pages.get('8', URL)?.body.identity.toString(), '{"total":2}', 'another generation computes');
  assert.equal(pages.get('7', URL), undefined, 'and replaces the page of the generation before');
});

test('the page of the generation before is offered; returned, it is confirmed with its compressed forms', async () => {
  const pages = new SearchPages();
  const first = page('{"total":1,"items":[]}'.padEnd(2048, ' '), 'r1');
  await pages.obtain('7', URL, async () => first);
  const { bytes } = first.body.get('gzip');
  pages.grow(URL, first, bytes.length);
  let offered: Page | undefined;
  const confirmed = await pages.obtain('8', URL, async (earlier) => (offered = earlier)!);
  assert.equal(offered, first, 'the earlier page offered to the computation');
  assert.equal(confirmed, first);
  assert.equal(pages.get('8', URL), first, 'held at the new generation');
  assert.equal(pages.get('7', URL), undefined, 'not at the old one');
  assert.equal(first.body.get('gzip').added, 0, 'its gzip form kept');
  const other = await pages.obtain('9', URL, async (earlier) => {
    assert.equal(earlier, first);
    return page('{"total":2}', 'r2');
  });
  assert.equal(pages.get('9', URL), other, 'a new page replaces it');
});

test('a page computed for an older generation does not replace a newer one kept meanwhile', async () => {
  const pages = new SearchPages();
  let finishOld!: (p: Page) => void;
  const old = pages.obtain('7', URL, () => new Promise<Page>((resolve) => (finishOld = resolve)));
  const newer = await pages.obtain('8', URL, async () => page('{"total":8}'));
  finishOld(page('{"total":7}'));
  assert.equal((await old).body.identity.toString(), '{"total":7}', 'its own request gets it');
  assert.equal(pages.get('8', URL), newer, 'the newer page stays');
});

test('a failure reaches every request that waited, is not kept, and the next request computes again', async () => {
  const pages = new SearchPages();
  let made = 0;
  const failing = async (): Promise<Page> => {
    made++;
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('redis away');
  };
  const results = await Promise.allSettled([1, 2, 3].map(() => pages.obtain('1', 'k', failing)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  assert.equal(made, 1);
  assert.equal(pages.get('1', 'k'), undefined, 'a failure is not kept');
  const ok = await pages.obtain('1', 'k', async () => page('{}'));
  assert.equal(ok.body.identity.toString(), '{}');
});

test('without a generation (not followed) every request computes its own page, none is kept', async () => {
  const pages = new SearchPages();
  let made = 0;
  await Promise.all([1, 2].map(() => pages.obtain(undefined, 'k', async () => (made++, page('{}')))));
  assert.equal(made, 2);
});
