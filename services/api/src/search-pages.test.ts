import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedBody } from './page-encodings.ts';
import { SearchPages, type Page } from './search-pages.ts';

const page = (text: string): Page => ({ body: new EncodedBody(Buffer.from(text)), engine: 'memory' });

test('requests that miss together share one computation, and then the page is held', async () => {
  const pages = new SearchPages();
  let made = 0;
  let finish!: (p: Page) => void;
  const make = () => {
    made++;
    return new Promise<Page>((resolve) => (finish = resolve));
  };
  const waiting = Array.from({ length: 64 }, () => pages.obtain('7 /v1/search?q=a', make));
  finish(page('{"total":1}'));
  const answers = await Promise.all(waiting);
  assert.equal(made, 1, 'one computation for 64 requests');
  assert.ok(answers.every((a) => a === answers[0]));
  assert.equal(await pages.obtain('7 /v1/search?q=a', make), answers[0], 'held afterwards');
  assert.equal(made, 1);
  await pages.obtain('8 /v1/search?q=a', async () => page('{"total":2}'));
  assert.equal(
    pages.get('8 /v1/search?q=a')?.body.identity.toString(),
    '{"total":2}',
    'another key computes',
  );
});

test('a failure reaches every request that waited, is not kept, and the next request computes again', async () => {
  const pages = new SearchPages();
  let made = 0;
  const failing = async (): Promise<Page> => {
    made++;
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('redis away');
  };
  const results = await Promise.allSettled([1, 2, 3].map(() => pages.obtain('k', failing)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  assert.equal(made, 1);
  assert.equal(pages.get('k'), undefined, 'a failure is not kept');
  const ok = await pages.obtain('k', async () => page('{}'));
  assert.equal(ok.body.identity.toString(), '{}');
});

test('without a key (generation not followed) every request computes its own page, none is kept', async () => {
  const pages = new SearchPages();
  let made = 0;
  await Promise.all([1, 2].map(() => pages.obtain(undefined, async () => (made++, page('{}')))));
  assert.equal(made, 2);
});
