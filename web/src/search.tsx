/** The search page: as-you-type search, facet toggles with counts, sort, version range and paging. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { SearchHit, SearchResult } from '../../shared/src/api-documents.ts';
import { api } from './api.ts';
import { useCatalogEvents } from './live.ts';
import { href, navigate, type Route } from './router.ts';

const PARAMS = ['q', 'catalog', 'maintainer', 'kind', 'prerelease', 'version', 'sort'] as const;
const DEBOUNCE_MS = 200;

/** A facet value as the search parameter it toggles (the channel facet, release/prerelease, is the prerelease filter). */
function facetParam(facet: string, value: string): [string, string] {
  if (facet === 'channel') return ['prerelease', value === 'prerelease' ? 'only' : 'exclude'];
  return [facet, value];
}

function searchUrl(query: URLSearchParams, cursor?: string): string {
  const q = new URLSearchParams();
  for (const p of PARAMS) {
    const v = query.get(p);
    if (v) q.set(p, v);
  }
  q.set('limit', '20');
  if (cursor) q.set('cursor', cursor);
  return `/v1/search?${q}`;
}

export function SearchPage({ route }: { route: Route }) {
  const query = route.query;
  const [text, setText] = useState(query.get('q') ?? '');
  const [range, setRange] = useState(query.get('version') ?? '');
  const [result, setResult] = useState<SearchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const key = searchUrl(query);
  const timer = useRef<number>(undefined);

  const setParams = (change: Record<string, string | undefined>, push = true) => {
    const next: Record<string, string | undefined> = {};
    for (const p of PARAMS) next[p] = query.get(p) ?? undefined;
    navigate(href([], { ...next, ...change }), push);
  };

  // Back/forward: the box follows the URL.
  useEffect(() => setText(query.get('q') ?? ''), [query.get('q')]);
  useEffect(() => {
    const ctl = new AbortController();
    api<SearchResult>(key, { signal: ctl.signal }).then(
      (r) => {
        setResult(r);
        setError(null);
      },
      (e: Error) => e.name !== 'AbortError' && setError(e.message),
    );
    return () => ctl.abort();
  }, [key, tick]);
  // A new tag or source changes the results: ask again.
  useCatalogEvents(() => setTick((t) => t + 1));

  const onType = (v: string) => {
    setText(v);
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setParams({ q: v || undefined }, false), DEBOUNCE_MS);
  };
  const more = async () => {
    if (!result?.nextCursor) return;
    const page = await api<SearchResult>(searchUrl(query, result.nextCursor));
    setResult({ ...page, items: [...result.items, ...page.items] });
  };

  return (
    <div class="search">
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <label for="q" class="sr">
          Search profiles
        </label>
        <input
          id="q"
          type="search"
          placeholder="Search profiles…"
          value={text}
          onInput={(e) => onType(e.currentTarget.value)}
          autoFocus
        />
      </form>
      <div class="layout">
        <aside aria-label="Filters">
          {result &&
            Object.entries(result.facets).map(([facet, counts]) => (
              <fieldset key={facet}>
                <legend>{facet === 'channel' ? 'pre-releases' : facet}</legend>
                {Object.entries(counts).map(([value, n]) => {
                  const [param, v] = facetParam(facet, value);
                  const on = query.get(param) === v;
                  return (
                    <button
                      type="button"
                      key={value}
                      class="toggle"
                      aria-pressed={on}
                      onClick={() => setParams({ [param]: on ? undefined : v })}
                    >
                      {value} <span class="count">{n}</span>
                    </button>
                  );
                })}
              </fieldset>
            ))}
          <fieldset>
            <legend>sort</legend>
            <select
              aria-label="Sort"
              value={query.get('sort') ?? 'relevance'}
              onChange={(e) => setParams({ sort: e.currentTarget.value })}
            >
              <option value="relevance">relevance</option>
              <option value="name">name</option>
              <option value="updated">updated</option>
            </select>
          </fieldset>
          <fieldset>
            <legend>version range</legend>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                setParams({ version: range || undefined });
              }}
            >
              <input
                aria-label="Version range"
                placeholder="^1.2 or >=2 <3"
                value={range}
                onInput={(e) => setRange(e.currentTarget.value)}
              />
            </form>
          </fieldset>
        </aside>
        <section aria-label="Results" aria-live="polite">
          {error && (
            <p role="alert" class="error">
              {error}
            </p>
          )}
          {result && (
            <p class="muted">
              {result.total} profile{result.total === 1 ? '' : 's'}
            </p>
          )}
          <ul class="hits">
            {result?.items.map((h) => (
              <Hit key={`${h.catalog}/${h.name}`} hit={h} />
            ))}
          </ul>
          {result?.nextCursor && (
            <button type="button" onClick={() => void more()}>
              More results
            </button>
          )}
        </section>
      </div>
    </div>
  );
}

function Hit({ hit }: { hit: SearchHit }) {
  const e = hit.latest;
  return (
    <li class="hit">
      <a href={href(['profiles', hit.catalog, hit.name])}>
        <strong>{hit.name}</strong>
      </a>{' '}
      <span class="version">{e.version}</span> <span class="muted">{hit.catalog}</span>
      <p>{e.description}</p>
      <p class="muted small">
        {[e.maintainer, [...new Set(e.artifacts?.map((a) => a.kind))].join(', ')].filter(Boolean).join(' · ')}
      </p>
    </li>
  );
}
