/**
 * Fuzzing with fast-check: every parser of outside input and the API's endpoints on real servers. The property
 * everywhere: no crash. A parser returns or throws an AppError of the catalogue with a message; an endpoint
 * answers below 500, and every refusal is a problem document (or the original endpoints' JSON error) with a
 * code. CI runs a fixed seed and a few hundred cases; `FUZZ_RUNS=10000 FUZZ_SEED=<n> npm test -- fuzz` is the
 * bench-sized run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AppError,
  checkCatalogSourceDocument,
  checkProfileDefinition,
  ERRORS,
  parseYamlDocuments,
} from '@profiles/shared';
import { decodeCursor } from '../services/api/src/search.ts';
import { queryFilters, queryWords } from '../services/api/src/search-query.ts';
import { repositoryUrls, verifyWebhook } from '../services/api/src/routes/refresh.ts';
import { startStack, type Stack } from './harness/index.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 18);
const params = (runs = RUNS) => ({ numRuns: runs, seed: SEED });

/** Runs `fn`; anything thrown must be an AppError of the catalogue with a message. */
function clearOrNothing(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `not an AppError: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.code in ERRORS && err.message.length > 0);
  }
}

// YAML-ish text: fragments that drive the parser into its corners, glued at random.
const yamlFragment = fc.oneof(
  fc.constantFrom(
    'a: ',
    '- ',
    '? ',
    '[',
    ']',
    '{',
    '}',
    ', ',
    '&x ',
    '*x',
    '!!str ',
    '|',
    '>-',
    '\n',
    '  ',
    '"',
    "'",
  ),
  fc.constantFrom('---\n', '...\n', '#c', '%YAML 1.2\n', 'apiVersion: weave.works/v1alpha1\n'),
  fc.constantFrom('kind: ProfileCatalogSource\n', 'kind: ProfileDefinition\n', 'metadata: {name: x}\n'),
  fc.string({ maxLength: 6 }),
);
const yamlText = fc.array(yamlFragment, { maxLength: 60 }).map((a) => a.join(''));
const jsonValue = fc.jsonValue({ maxDepth: 5 });

describe('fuzz: parsers', () => {
  test('catalog source YAML: parse + check', () => {
    fc.assert(
      fc.property(yamlText, (text) =>
        clearOrNothing(() => {
          for (const doc of parseYamlDocuments(text)) checkCatalogSourceDocument(doc);
        }),
      ),
      params(),
    );
  });

  test('catalog source documents of any shape', () => {
    fc.assert(
      fc.property(jsonValue, (doc) => clearOrNothing(() => checkCatalogSourceDocument(doc))),
      params(),
    );
  });

  test('profile.yaml: parse + check', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          yamlText,
          jsonValue.map((v) => JSON.stringify(v)),
        ),
        (text) =>
          clearOrNothing(() => {
            const [doc] = parseYamlDocuments(text);
            const r = checkProfileDefinition(doc);
            if (!r.ok) assert.ok(r.reason.length > 0);
          }),
      ),
      params(),
    );
  });

  test('search query words and filters', () => {
    const q = fc.record(
      { q: fc.string(), catalog: fc.string(), maintainer: fc.string(), kind: fc.string() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(q, (query) =>
        clearOrNothing(() => {
          queryWords(query.q ?? '');
          queryFilters(query as Parameters<typeof queryFilters>[0]);
        }),
      ),
      params(),
    );
  });

  test('cursors', () => {
    const cursor = fc.oneof(
      fc.string(),
      jsonValue.map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    );
    fc.assert(
      fc.property(cursor, fc.string(), (c, h) => clearOrNothing(() => decodeCursor(c, h))),
      params(),
    );
  });

  test('webhook headers and payloads', () => {
    const headers = fc.dictionary(
      fc.constantFrom(
        'x-github-event',
        'x-gitea-event',
        'x-gitlab-event',
        'x-hub-signature-256',
        'x-gitlab-token',
      ),
      fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 })),
    );
    fc.assert(
      fc.property(headers, fc.uint8Array({ maxLength: 200 }), jsonValue, (h, raw, body) =>
        clearOrNothing(() => {
          verifyWebhook(h, Buffer.from(raw), 'secret');
          const urls = repositoryUrls(body);
          assert.ok(Array.isArray(urls) && urls.every((u) => typeof u === 'string'));
        }),
      ),
      params(),
    );
  });
});

describe('fuzz: endpoints on real servers', () => {
  let stack: Stack;
  let api: string;
  before(async () => {
    stack = await startStack();
    api = (await stack.api({ webhookSecret: 'secret' })).url;
  });
  after(() => stack.stop());

  /** Below 500; a refusal names its code in the documented formats. */
  async function answersClearly(res: Response): Promise<void> {
    const text = await res.text();
    assert.ok(res.status < 500, `${res.status} ${text}`);
    if (res.status >= 400) {
      const body = JSON.parse(text) as { code?: string };
      assert.ok(body.code && body.code in ERRORS, text);
    }
  }
  const segment = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('..', '%2F', '%00', 'latest', 'v1.0.0'),
  );
  const enc = (s: string) => encodeURIComponent(s);
  const ENDPOINT_RUNS = Number(process.env.FUZZ_ENDPOINT_RUNS ?? Math.max(20, Math.round(RUNS / 3)));

  test('GET routes with random paths and query strings', async () => {
    const routes = [
      (a: string, _b: string) => `/v1/profiles?name=${enc(a)}`,
      (a: string, b: string) => `/v1/profiles/${enc(a)}/${enc(b)}`,
      (a: string, b: string) => `/v1/profiles/${enc(a)}/${enc(b)}/latest/available_updates`,
      (a: string, b: string) => `/v1/catalogs/${enc(a)}/profiles/${enc(b)}/versions/${enc(a)}`,
      (a: string, b: string) => `/v1/search?q=${enc(a)}&version=${enc(b)}`,
      (a: string, b: string) => `/v1/search?cursor=${enc(a)}&limit=${enc(b)}`,
      (a: string, b: string) => `/v1/search?${enc(a)}=${enc(b)}`,
      (a: string, b: string) => `/v1/sources/${enc(a)}/${enc(b)}`,
      (a: string) => `/v1/installations/${enc(a)}`,
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat(routes.length - 1), segment, segment, async (i, a, b) => {
        await answersClearly(await fetch(`${api}${routes[i]!(a, b)}`));
      }),
      params(ENDPOINT_RUNS),
    );
  });

  test('POST bodies of any JSON shape', async () => {
    const paths = [
      '/v1/installations',
      '/v1/repositories/installations/upgrade',
      '/v1/installations/x/upgrade',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), jsonValue, async (path, body) => {
        const res = await fetch(`${api}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        await answersClearly(res);
        assert.notEqual(res.status, 202, 'nothing random is accepted as an installation');
      }),
      params(ENDPOINT_RUNS),
    );
  });

  test('webhooks with random headers and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('x-github-event', 'x-gitea-event', 'x-gitlab-event', 'x-other'),
        fc.string({ maxLength: 80 }),
        async (event, body) => {
          const res = await fetch(`${api}/v1/webhooks/git`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', [event]: 'push', 'x-gitlab-token': 'wrong' },
            body,
          });
          await answersClearly(res);
          assert.ok(res.status >= 400, 'an unsigned hook is refused');
        },
      ),
      params(ENDPOINT_RUNS),
    );
  });
});
