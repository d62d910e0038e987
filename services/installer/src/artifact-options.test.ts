import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '@profiles/shared';
import { checkValuesSchema } from './artifact-options.ts';
import type { ResolvedArtifact } from './resolve-tree.ts';

/** A local chart whose values.schema.json caps replicaCount at 5 and refuses unknown keys under `image`. */
const chart = (values: string): ResolvedArtifact => ({
  name: 'web',
  kind: 'chart',
  def: { name: 'web', chart: { path: 'charts/web' } },
  dependsOn: [],
  localPath: 'charts/web',
  files: new Map([
    ['values.yaml', Buffer.from(values)],
    [
      'values.schema.json',
      Buffer.from(
        JSON.stringify({
          type: 'object',
          properties: {
            replicaCount: { type: 'integer', maximum: 5 },
            image: { type: 'object', additionalProperties: false, properties: { tag: { type: 'string' } } },
          },
        }),
      ),
    ],
  ]),
});

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(isAppError(err) && err.code === 'VALUES_INVALID', String(err));
    return err.message;
  }
  assert.fail('the values were accepted');
};

test("a chart's values.yaml parsed once is shared by installs without one's values reaching another's", () => {
  const values = 'replicaCount: 1\nimage:\n  tag: "1.0"\n';
  // The same content in another artifact object, as every install of the chart resolves it afresh.
  assert.deepEqual(checkValuesSchema('web', chart(values), { image: { tag: '2.0' } }), []);
  assert.match(
    refusal(() => checkValuesSchema('web', chart(values), { replicaCount: 9 })),
    /replicaCount/,
  );
  assert.match(
    refusal(() => checkValuesSchema('web', chart(values), { image: { extra: true } })),
    /must NOT have additional properties/,
  );
  // The defaults themselves were left as parsed: the refusals above changed nothing for the next install.
  assert.deepEqual(checkValuesSchema('web', chart(values), {}), []);
  // Other content is its own entry: its defaults are judged, not the first chart's.
  assert.match(
    refusal(() => checkValuesSchema('web', chart('replicaCount: 7\n'), {})),
    /replicaCount/,
  );
});
