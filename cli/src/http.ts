/**
 * The API client: JSON over node:http (cheaper to load than fetch, which matters for a command's start-up),
 * the bearer token, and every failure turned into one line: the problem's `detail` and `parameter`, or that the
 * API is not reachable at all.
 */
import type { IncomingMessage } from 'node:http';
import type { Problem } from '@profiles/shared';
import { CliError, EXIT, exitCodeForStatus } from './exit.ts';

export interface ClientOptions {
  api: string;
  token?: string | undefined;
  /** Per request. */
  timeoutMs?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export class ApiClient {
  readonly base: URL;

  constructor(private readonly o: ClientOptions) {
    try {
      this.base = new URL(o.api);
    } catch {
      throw new CliError(`--api ${JSON.stringify(o.api)} is not a URL`, EXIT.usage);
    }
    if (!/^https?:$/.test(this.base.protocol))
      throw new CliError(`--api ${o.api} must be an http:// or https:// URL`, EXIT.usage);
  }

  url(path: string, query: Query = {}): URL {
    const u = new URL(
      path.replace(/^\//, ''),
      this.base.href.endsWith('/') ? this.base : `${this.base.href}/`,
    );
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.send<T>('GET', path, { ...(query ? { query } : {}) });
  }

  post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>('POST', path, { body, headers });
  }

  /** Opens a streaming GET (Server-Sent Events); the caller reads the response. */
  stream(path: string, query: Query, headers: Record<string, string>, signal?: AbortSignal) {
    return this.open(
      'GET',
      this.url(path, query),
      { accept: 'text/event-stream', ...headers },
      undefined,
      signal,
    );
  }

  async send<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    };
    const res = await this.open(method, this.url(path, opts.query), headers, body);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    let doc: unknown = text;
    try {
      doc = text === '' ? undefined : JSON.parse(text);
    } catch {
      /* not JSON: reported below when the status is an error */
    }
    if (status >= 400) throw problemError(status, doc);
    return doc as T;
  }

  private async open(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: string,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    // node:https (and TLS with it) loads only for an https API: start-up is most of a command's time. Not by
    // import(): an ES namespace of node:http reads every export, and its WebSocket getters load undici (with TLS,
    // crypto and zlib), which doubled the CPU time of a search.
    const { request } =
      url.protocol === 'https:'
        ? process.getBuiltinModule('node:https')
        : process.getBuiltinModule('node:http');
    const all = {
      'user-agent': 'profiles-cli',
      ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
      ...headers,
    };
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers: all, ...(signal ? { signal } : {}) }, resolve);
      if (this.o.timeoutMs) {
        req.setTimeout(this.o.timeoutMs, () =>
          req.destroy(
            new CliError(
              `the Profiles API at ${this.o.api} did not answer within ${this.o.timeoutMs! / 1000} s`,
              EXIT.unavailable,
            ),
          ),
        );
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof CliError || err.name === 'AbortError') return reject(err);
        reject(
          /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|ENETUNREACH/.test(err.code ?? '')
            ? unreachable(this.o.api)
            : new CliError(`request to ${this.o.api} failed: ${err.message}`, EXIT.unavailable),
        );
      });
      req.end(body);
    });
  }
}

export function unreachable(api: string): CliError {
  return new CliError(
    `cannot reach the Profiles API at ${api} — is it running? (\`npm start\`)`,
    EXIT.unavailable,
  );
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/**
 * One line from an error answer: a problem's `detail` (and its `parameter`), or the original endpoints'
 * `{code, message, details}`.
 */
export function problemError(status: number, doc: unknown): CliError {
  const p = (typeof doc === 'object' && doc !== null ? doc : {}) as Partial<Problem> & {
    message?: string;
    details?: { parameter?: string };
  };
  const detail =
    p.detail ?? p.message ?? (typeof doc === 'string' && doc ? doc.slice(0, 200) : `HTTP ${status}`);
  const parameter = p.parameter ?? p.details?.parameter;
  const code = p.code ? ` [${p.code}]` : '';
  return new CliError(
    `${detail}${parameter ? ` (parameter: ${parameter})` : ''}${code}`,
    exitCodeForStatus(status),
  );
}
