import { checkRepoUrl as check, type UrlPolicy } from '@profiles/shared';

export { normalizeRepoUrl, type UrlPolicy } from '@profiles/shared';
export { redactUrl } from '@profiles/shared/runtime';

/** A catalog source's repository URL, checked by the shared policy; refusals are source errors. */
export function checkRepoUrl(url: string, policy: UrlPolicy): { scheme: string; host: string } {
  return check(url, policy, { what: 'repository', code: 'SOURCE_INVALID' });
}
