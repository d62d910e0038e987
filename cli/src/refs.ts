/** The command line's ways of naming things: `CATALOG/PROFILE[@VERSION]`, `[namespace/]name`, `a.b=c`. */
import { CliError, EXIT } from './exit.ts';

export interface CatalogRef {
  /** A source name, or `namespace/name` when the name alone is ambiguous. */
  catalog: string;
  profile: string;
  /** `latest` when not given. */
  version: string;
}

/**
 * `examples/weaveworks-nginx`, `examples/weaveworks-nginx@0.1.1`, `team-a/platform/nginx@^1` (a catalog with its
 * namespace). pctl's `CATALOG/PROFILE/VERSION` is accepted when the last part is a version.
 */
export function parseCatalogRef(arg: string): CatalogRef {
  let rest = arg.trim();
  let version = 'latest';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    version = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!version)
      throw new CliError(`${JSON.stringify(arg)}: nothing after @ (a version, or latest)`, EXIT.usage);
  }
  const parts = rest.split('/').filter(Boolean);
  if (at < 0 && parts.length === 3 && /^v?\d+\.\d+\.\d+/.test(parts[2]!)) version = parts.pop()!;
  if (parts.length < 2 || parts.length > 3) {
    throw new CliError(
      `${JSON.stringify(arg)}: name a profile as CATALOG/PROFILE[@VERSION], e.g. examples/weaveworks-nginx@0.1.1`,
      EXIT.usage,
    );
  }
  const profile = parts.pop()!;
  return { catalog: parts.join('/'), profile, version };
}

/** `name` or `namespace/name` (a Secret or a Flux GitRepository). */
export function parseObjectRef(arg: string, what: string): { name: string; namespace?: string } {
  const parts = arg.split('/');
  if (parts.length > 2 || parts.some((p) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p))) {
    throw new CliError(`${what} ${JSON.stringify(arg)}: expected NAME or NAMESPACE/NAME`, EXIT.usage);
  }
  return parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

/** The path segment of a catalog in the API's URLs (`team-a/platform` is one segment, %2F-encoded). */
export function catalogPath(ref: Pick<CatalogRef, 'catalog' | 'profile'>): string {
  return `/v1/catalogs/${encodeURIComponent(ref.catalog)}/profiles/${encodeURIComponent(ref.profile)}`;
}
