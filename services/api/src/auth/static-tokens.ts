import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError, parseYaml } from '@profiles/shared';
import type { Identity } from './identity.ts';

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * A static token file for local and small setups: a YAML list of `{token, user, groups}`. Tokens are kept
 * only as SHA-256 digests and compared in constant time; the file is read once at start.
 */
export class StaticTokens {
  private readonly entries: { digest: Buffer; identity: Identity }[];

  constructor(list: unknown, file = 'AUTH_TOKENS_FILE') {
    const bad = (why: string): never => {
      throw new AppError('CONFIG_INVALID', `${file}: ${why}`, { details: { variable: 'AUTH_TOKENS_FILE' } });
    };
    if (!Array.isArray(list)) bad('expected a list of {token, user, groups}');
    this.entries = (list as unknown[]).map((e, i) => {
      const t = e as { token?: unknown; user?: unknown; groups?: unknown };
      if (typeof t.token !== 'string' || t.token.length < 16) bad(`entry ${i}: token must be 16+ characters`);
      if (typeof t.user !== 'string' || !t.user) bad(`entry ${i}: user is required`);
      const groups = t.groups ?? [];
      if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))
        bad(`entry ${i}: groups must be a list of names`);
      return {
        digest: digest(t.token as string),
        identity: { user: t.user as string, groups: groups as string[], via: 'token' as const },
      };
    });
  }

  static fromFile(path: string): StaticTokens {
    return new StaticTokens(parseYaml(readFileSync(path, 'utf8')), path);
  }

  /** The identity of a listed token, or undefined. */
  lookup(token: string): Identity | undefined {
    const d = digest(token);
    let hit: Identity | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) hit = e.identity;
    return hit;
  }
}
