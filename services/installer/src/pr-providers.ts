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

async function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<any> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
      // The token is for this API: a redirect (perhaps to another origin) is an error, never followed.
      redirect: 'error',
    });
  } catch (err) {
    throw new AppError(
      'PROVIDER_FAILED',
      `${method} ${new URL(url).origin} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const text = await res.text();
  if (!res.ok) {
    throw new AppError(
      'PROVIDER_FAILED',
      `${method} ${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 200)}`,
    );
  }
  return text ? JSON.parse(text) : undefined;
}

const trim = (u: string) => u.replace(/\/+$/, '');

export class GitHubProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
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
    )) as any[];
    if (open?.[0]) return { url: open[0].html_url, number: open[0].number, created: false };
    const pr = await call('POST', base, h, {
      title: input.title,
      body: input.body,
      head: input.head,
      base: input.base,
    });
    return { url: pr.html_url, number: pr.number, created: true };
  }
}

export class GitLabProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
  ) {}

  async ensure(input: PullRequestInput) {
    const h: Record<string, string> = {};
    if (this.token) h['private-token'] = this.token;
    const base = `${trim(this.t.apiUrl)}/projects/${encodeURIComponent(this.t.repository)}/merge_requests`;
    const open = (await call(
      'GET',
      `${base}?state=opened&source_branch=${encodeURIComponent(input.head)}`,
      h,
    )) as any[];
    if (open?.[0]) return { url: open[0].web_url, number: open[0].iid, created: false };
    const mr = await call('POST', base, h, {
      source_branch: input.head,
      target_branch: input.base,
      title: input.title,
      description: input.body,
    });
    return { url: mr.web_url, number: mr.iid, created: true };
  }
}

/** Gitea and Forgejo share this API. */
export class GiteaProvider implements PullRequestProvider {
  constructor(
    private readonly t: PullRequestTarget,
    private readonly token: string | undefined,
  ) {}

  async ensure(input: PullRequestInput) {
    const h: Record<string, string> = {};
    if (this.token) h.authorization = `token ${this.token}`;
    const base = `${trim(this.t.apiUrl)}/repos/${this.t.repository}/pulls`;
    const open = (await call('GET', `${base}?state=open&limit=50`, h)) as any[];
    const mine = open?.find((p) => p?.head?.ref === input.head);
    if (mine) return { url: mine.html_url, number: mine.number, created: false };
    const pr = await call('POST', base, h, {
      title: input.title,
      body: input.body,
      head: input.head,
      base: input.base,
    });
    return { url: pr.html_url, number: pr.number, created: true };
  }
}

export function providerFor(t: PullRequestTarget, token: string | undefined): PullRequestProvider {
  switch (t.provider) {
    case 'github':
      return new GitHubProvider(t, token);
    case 'gitlab':
      return new GitLabProvider(t, token);
    case 'gitea':
      return new GiteaProvider(t, token);
    default:
      throw new AppError(
        'BAD_REQUEST',
        `unknown pull-request provider ${JSON.stringify((t as { provider: string }).provider)}`,
      );
  }
}
