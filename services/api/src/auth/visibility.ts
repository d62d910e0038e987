import type { AuthConfig, SourceAccess } from '@profiles/shared';
import type { CatalogFollower } from '../catalog-generation.ts';
import type { CatalogReader, KnownSources } from '../catalog-reader.ts';
import { audienceOf, EVERYTHING, type Audience } from './audience.ts';
import { identityKey, type Identity } from './identity.ts';

/** Decides with Kubernetes RBAC whether an identity may `get` a ProfileCatalogSource. */
export interface AccessReviewer {
  canGet(identity: Identity, sourceId: string): Promise<boolean>;
}

export interface VisibilityDeps {
  /** The unscoped reader (every source). */
  reader: CatalogReader;
  defaultAccess: AuthConfig['defaultAccess'];
  /** RBAC mode: asked instead of spec.access. */
  rbac?: AccessReviewer | undefined;
  /** Whether the follower is in step with the catalog (else every audience is read from Redis). */
  live: () => boolean;
  /**
   * Whether it is in step and has also applied every change announced so far (none waiting): only then are
   * the sources it holds as new as a read of Redis would be, as of the last announcement (see `known`).
   */
  inStep?: () => boolean;
}

/** RBAC answers are remembered this long: a RoleBinding created or deleted counts within a second. */
const RBAC_TTL_MS = 500;
const MAX_IDENTITIES = 10_000;

/**
 * Who sees which catalog source. It follows the catalog like the search mirror (every source's `spec.access`,
 * as the indexer stored it, reloaded source by source on each announcement), so a grant or revoke counts in
 * every replica as soon as the change is announced, and an identity's audience is computed once per change.
 */
export class Visibility implements CatalogFollower {
  private access = new Map<string, SourceAccess | null>();
  private version = 0;
  private readonly audiences = new Map<string, { version: number; at: number; audience: Audience }>();

  /**
   * Sources announced and not reloaded yet that the access map does not hold (new ones): `known()` names them
   * too, as guesses only, so a URL naming a source just added costs one round trip, not two (catalog-reader.ts
   * confirms every guess in the read). Empty whenever every announced change is applied.
   */
  private readonly announcedNew = new Set<string>();
  /** `known()`'s answer (but its `inStep`), made again after each change or announcement of a new source. */
  private held: { version: number; announced: number; sources: Omit<KnownSources, 'inStep'> } | undefined;
  private announcedCount = 0;

  constructor(private readonly deps: VisibilityDeps) {}

  /**
   * The sources that exist, by id and by name, while the catalog is followed; undefined otherwise (the reader
   * then asks Redis). The access map holds exactly the indexed sources (its reload checks each one's
   * membership), so while every announced change is applied (`inStep`) a URL's catalog is resolved without a
   * round trip; while one is being applied the copy (with the new sources announced meanwhile) is only a
   * guess, confirmed by Redis (catalog-reader.ts).
   */
  known(): KnownSources | undefined {
    if (!this.deps.live()) return undefined;
    if (this.held?.version !== this.version || this.held.announced !== this.announcedCount) {
      const byName = new Map<string, string[]>();
      for (const id of [...this.access.keys(), ...this.announcedNew]) {
        const name = id.slice(id.indexOf('/') + 1);
        const ids = byName.get(name);
        if (ids) ids.push(id);
        else byName.set(name, [id]);
      }
      const access = this.access;
      const announced = new Set(this.announcedNew);
      this.held = {
        version: this.version,
        announced: this.announcedCount,
        sources: {
          has: (id) => access.has(id) || announced.has(id),
          named: (name) => byName.get(name) ?? [],
        },
      };
    }
    return { ...this.held.sources, inStep: this.deps.inStep?.() === true };
  }

  async reloadAll(): Promise<void> {
    this.access = await this.deps.reader.sourceAccess();
    this.announcedNew.clear();
    this.version++;
  }

  async reloadSource(sourceId: string): Promise<void> {
    const one = await this.deps.reader.sourceAccess([sourceId]);
    if (one.has(sourceId)) this.access.set(sourceId, one.get(sourceId)!);
    else this.access.delete(sourceId);
    this.announcedNew.delete(sourceId);
    this.version++;
  }

  /** Audiences keep their version: an announcement changes no one's access until its reload. */
  announced(sourceId: string): void {
    if (this.access.has(sourceId) || this.announcedNew.has(sourceId)) return;
    this.announcedNew.add(sourceId);
    this.announcedCount++;
  }

  /** The sources `identity` may see now. Synchronous when known (the common case). */
  audience(identity: Identity): Audience | Promise<Audience> {
    if (identity.open) return EVERYTHING;
    const live = this.deps.live();
    const key = identityKey(identity);
    const hit = this.audiences.get(key);
    const now = Date.now();
    if (live && hit && hit.version === this.version && (!this.deps.rbac || now - hit.at < RBAC_TTL_MS))
      return hit.audience;
    return this.compute(identity, live).then((audience) => {
      if (live) {
        if (this.audiences.size >= MAX_IDENTITIES) this.audiences.clear();
        this.audiences.set(key, { version: this.version, at: now, audience });
      }
      return audience;
    });
  }

  private async compute(identity: Identity, live: boolean): Promise<Audience> {
    const access = live ? this.access : await this.deps.reader.sourceAccess();
    const ids = [...access.keys()];
    const rbac = this.deps.rbac;
    if (rbac && identity.via !== 'anonymous') {
      const allowed = await Promise.all(ids.map((id) => rbac.canGet(identity, id)));
      return audienceOf(ids.filter((_, i) => allowed[i]));
    }
    return audienceOf(ids.filter((id) => this.sees(identity, access.get(id) ?? null)));
  }

  private sees(identity: Identity, access: SourceAccess | null): boolean {
    const anonymous = identity.via === 'anonymous';
    if (!access)
      return (
        this.deps.defaultAccess === 'public' || (this.deps.defaultAccess === 'authenticated' && !anonymous)
      );
    if (access.public) return true;
    if (anonymous) return false;
    return !!access.users?.includes(identity.user) || identity.groups.some((g) => access.groups?.includes(g));
  }
}
