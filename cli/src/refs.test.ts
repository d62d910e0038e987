import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogPath, parseCatalogRef, parseObjectRef } from './refs.ts';

test('CATALOG/PROFILE[@VERSION], a namespaced catalog, and the pctl form', () => {
  assert.deepEqual(parseCatalogRef('examples/weaveworks-nginx'), {
    catalog: 'examples',
    profile: 'weaveworks-nginx',
    version: 'latest',
  });
  assert.deepEqual(parseCatalogRef('examples/weaveworks-nginx@0.1.1'), {
    catalog: 'examples',
    profile: 'weaveworks-nginx',
    version: '0.1.1',
  });
  assert.deepEqual(parseCatalogRef('team-a/platform/nginx@v1.2.0'), {
    catalog: 'team-a/platform',
    profile: 'nginx',
    version: 'v1.2.0',
  });
  assert.deepEqual(parseCatalogRef('nginx-catalog/weaveworks-nginx/v0.1.0'), {
    catalog: 'nginx-catalog',
    profile: 'weaveworks-nginx',
    version: 'v0.1.0',
  });
  assert.equal(
    catalogPath(parseCatalogRef('team-a/platform/nginx')),
    '/v1/catalogs/team-a%2Fplatform/profiles/nginx',
  );
});

test('a profile without its catalog, or with nothing after @, is refused with an example', () => {
  assert.throws(() => parseCatalogRef('weaveworks-nginx'), /CATALOG\/PROFILE\[@VERSION\], e\.g\./);
  assert.throws(() => parseCatalogRef('a/b@'), /nothing after @/);
  assert.throws(() => parseCatalogRef('a/b/c/d'), /CATALOG\/PROFILE/);
});

test('object references are NAME or NAMESPACE/NAME in Kubernetes spelling', () => {
  assert.deepEqual(parseObjectRef('git-creds', 'secret'), { name: 'git-creds' });
  assert.deepEqual(parseObjectRef('flux-system/fleet', 'source'), {
    namespace: 'flux-system',
    name: 'fleet',
  });
  assert.throws(() => parseObjectRef('a/b/c', '--secret-ref'), /--secret-ref "a\/b\/c": expected NAME/);
  assert.throws(() => parseObjectRef('Bad_Name', '--secret-ref'), /expected NAME/);
});
