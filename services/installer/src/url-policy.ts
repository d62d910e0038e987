import { checkRepoUrl, type UrlPolicy } from '@profiles/shared';

export type { UrlPolicy } from '@profiles/shared';

/** The installer's URL check: the shared policy, with the request's own wording and a 400 for the API. */
export function checkUrl(
  url: string,
  policy: UrlPolicy,
  what: string,
  schemes = ['http', 'https', 'ssh'],
): void {
  checkRepoUrl(url, policy, { what, schemes, code: 'BAD_REQUEST' });
}
