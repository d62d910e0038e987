/**
 * The browser's one way to the API (the documented endpoints only, same origin). A bearer token, when the API
 * asks for one (401), is kept in sessionStorage and sent as Authorization.
 */
import type { Problem } from '../../shared/src/api-documents.ts';

const TOKEN_KEY = 'profiles.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
};

/** Raised for any answer that is not 2xx; `problem` is the API's problem+json when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? (problem as { message?: string }).message ?? `the API answered ${status}`);
  }
}

const unauthorized = new Set<() => void>();
/** Called when the API answers 401, so the sign-in field shows. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

export function authHeaders(): Record<string, string> {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...authHeaders(),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (res.status === 401) for (const fn of unauthorized) fn();
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new ApiError(res.status, (body ?? {}) as Partial<Problem>);
  return body as T;
}

export const enc = encodeURIComponent;
export const profilePath = (catalog: string, name: string) =>
  `/v1/catalogs/${enc(catalog)}/profiles/${enc(name)}`;
