import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { AppError, type PullRequestTarget } from '@profiles/shared';

export interface PullRequestInput {
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface PullRequest {
  url: string;
  number: number | string;
}

/** Opens pull (merge) requests. `ensure` is idempotent: an open request from the same branch is reused. */
export interface PullRequestProvider {
  ensure(input: PullRequestInput): Promise<PullRequest & { created: boolean }>;
}

/** Largest answer read from a provider: lists of open pull requests are small. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * One HTTP exchange through node:http(s) with the access policy's `lookup`: the address a connection uses is
 * the one judged (a DNS answer that changed since the check cannot send the token elsewhere). Redirects are not
 * followed: the token is for this API, and a 3xx is an error like any other non-2xx answer.
 */
function exchange(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  lookup: LookupFunction | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent false: a connection of its own, never one pooled under another policy's lookup.
    const options = { method, headers, timeout: 30_000, agent: false, ...(lookup ? { lookup } : {}) };
    const req = send(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.length > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  lookup: LookupFunction | undefined,
): Promise<any> {
  let res: { status: number; text: string };
  try {
    res = await exchange(
      method,
      new URL(url),
      { accept: 'application/json', 'content-type': 'application/json', ...headers },
      body === undefined ? undefined : JSON.stringify(body),
      lookup,
    );
  } catch (err) {
    throw new AppError(
      'PROVIDER_FAILED',
      `${method} ${new URL(url).origin} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { status, text } = res;
  if (status < 200 || status > 299) {
    throw new AppError(
      'PROVIDER_FAILED',
      `${method} ${new URL(url).pathname} answered ${status}: ${text.slice(0, 200)}`,
    );
  }
  return text ? JSON.parse(text) : undefined;
}

/** Opens a pull request the GitHub way (GitHub and Gitea take the same body). */
const postPull = (
  url: string,
  headers: Record<string, string>,
  input: PullRequestInput,
  lookup: LookupFunction | undefined,
) =>
  call(
    'POST',
    url,
    headers,
    { title: input.title, body: input.body, head: input.head, base: input.base },
    lookup,
  );

const trim = (u: string) => u.replace(/\/+$/, '');

export class GitHubProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
    private readonly lookup?: LookupFunction,
  ) {}

  async ensure(input: PullRequestInput) {
    const h: Record<string, string> = { 'x-github-api-version': '2022-11-28' };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    const base = `${trim(this.t.apiUrl)}/repos/${this.t.repository}/pulls`;
    const owner = this.t.repository.split('/')[0];
    const open = (await call(
      'GET',
      `${base}?state=open&head=${encodeURIComponent(`${owner}:${input.head}`)}`,
      h,
      undefined,
      this.lookup,
    )) as any[];
    if (open?.[0]) return { url: open[0].html_url, number: open[0].number, created: false };
    const pr = await postPull(base, h, input, this.lookup);
    return { url: pr.html_url, number: pr.number, created: true };
  }
}

export class GitLabProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
    private readonly lookup?: LookupFunction,
  ) {}

  async ensure(input: PullRequestInput) {
    const h: Record<string, string> = {};
    if (this.token) h['private-token'] = this.token;
    const base = `${trim(this.t.apiUrl)}/projects/${encodeURIComponent(this.t.repository)}/merge_requests`;
    const open = (await call(
      'GET',
      `${base}?state=opened&source_branch=${encodeURIComponent(input.head)}`,
      h,
      undefined,
      this.lookup,
    )) as any[];
    if (open?.[0]) return { url: open[0].web_url, number: open[0].iid, created: false };
    const mr = await call(
      'POST',
      base,
      h,
      {
        source_branch: input.head,
        target_branch: input.base,
        title: input.title,
        description: input.body,
      },
      this.lookup,
    );
    return { url: mr.web_url, number: mr.iid, created: true };
  }
}

/** Gitea and Forgejo share this API. */
export class GiteaProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
    private readonly lookup?: LookupFunction,
  ) {}

  async ensure(input: PullRequestInput) {
    const h: Record<string, string> = {};
    if (this.token) h.authorization = `token ${this.token}`;
    const base = `${trim(this.t.apiUrl)}/repos/${this.t.repository}/pulls`;
    const open = (await call('GET', `${base}?state=open&limit=50`, h, undefined, this.lookup)) as any[];
    const mine = open?.find((p) => p?.head?.ref === input.head);
    if (mine) return { url: mine.html_url, number: mine.number, created: false };
    const pr = await postPull(base, h, input, this.lookup);
    return { url: pr.html_url, number: pr.number, created: true };
  }
}

/** `lookup`: the access policy's (GitAccess.lookup), so each connection goes to an address it judged. */
export function providerFor(
  t: PullRequestTarget,
  token: string | undefined,
  lookup?: LookupFunction,
): PullRequestProvider {
  switch (t.provider) {
    case 'github':
      return new GitHubProvider(t, token, lookup);
    case 'gitlab':
      return new GitLabProvider(t, token, lookup);
    case 'gitea':
      return new GiteaProvider(t, token, lookup);
    default:
      throw new AppError(
        'BAD_REQUEST',
        `unknown pull-request provider ${JSON.stringify((t as { provider: string }).provider)}`,
      );
  }
}
