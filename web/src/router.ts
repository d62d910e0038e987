/**
 * Hash routes (`#/profiles/CATALOG/NAME?version=…`), so the API serves one index.html at `/` and back/forward
 * and bookmarks keep the page and its query.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string[];
  query: URLSearchParams;
}

function current(): Route {
  const h = location.hash.replace(/^#/, '') || '/';
  const [p = '/', q = ''] = h.split('?', 2) as [string, string?];
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [r, setR] = useState(current);
  useEffect(() => {
    const on = () => setR(current());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

export function href(path: string[], query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${s ? `?${s}` : ''}`;
}

/** Changes the query of the page: `push` adds a history entry (back returns), otherwise it replaces this one. */
export function navigate(to: string, push = true): void {
  if (push) location.hash = to.slice(1);
  else history.replaceState(null, '', to);
  if (!push) dispatchEvent(new HashChangeEvent('hashchange'));
}
