import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import {
  AppError,
  parseYaml,
  type ArtifactPatches,
  type ArtifactValuesFrom,
  type KustomizePatch,
  type ValidationFinding,
  type ValuesReference,
} from '@profiles/shared';
import type { ResolvedArtifact } from './resolve-tree.ts';

const JSON6902_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * Checks a kustomize patch before anything is committed, as kustomize will read it: a JSON 6902 patch is a
 * list of operations and needs a target; a strategic merge patch is one object that names its kind and name
 * unless a target selects the objects.
 */
function checkPatch(field: string, p: KustomizePatch): void {
  const fail = (why: string) =>
    new AppError('PATCH_INVALID', `${field}: ${why}`, { details: { parameter: field } });
  let doc: unknown;
  try {
    doc = parseYaml(p.patch);
  } catch (err) {
    throw fail(`the patch is not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (Array.isArray(doc)) {
    if (!p.target) throw fail('a JSON 6902 patch needs a target');
    doc.forEach((op: unknown, i) => {
      const o = op as { op?: unknown; path?: unknown };
      if (!o || typeof o.op !== 'string' || !JSON6902_OPS.has(o.op) || typeof o.path !== 'string') {
        throw fail(`operation ${i} needs op (add, remove, replace, move, copy, test) and path`);
      }
    });
    return;
  }
  if (!doc || typeof doc !== 'object') throw fail('a patch is a JSON 6902 list or a strategic merge object');
  const o = doc as { kind?: unknown; metadata?: { name?: unknown } };
  if (!p.target && (typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string')) {
    throw fail('a strategic merge patch without a target names its kind and metadata.name');
  }
}

/** Patches go to any artifact, valuesFrom only to charts; every key names an artifact of the profile. */
export function checkArtifactOptions(
  leaves: Map<string, ResolvedArtifact>,
  patches: ArtifactPatches | undefined,
  valuesFrom: ArtifactValuesFrom | undefined,
): void {
  const unknown = (what: string, k: string) =>
    new AppError('VALUES_INVALID', `${what} given for unknown artifact ${JSON.stringify(k)}`, {
      details: { parameter: `${what}.${k}`, known: [...leaves.keys()] },
    });
  for (const [k, list] of Object.entries(patches ?? {})) {
    if (!leaves.has(k)) throw unknown('patches', k);
    list.forEach((p, i) => checkPatch(`patches.${k}[${i}]`, p));
  }
  for (const k of Object.keys(valuesFrom ?? {})) {
    if (!leaves.has(k)) throw unknown('valuesFrom', k);
    if (leaves.get(k)!.kind !== 'chart') {
      throw new AppError(
        'VALUES_INVALID',
        `artifact ${JSON.stringify(k)} is not a chart and takes no valuesFrom`,
        {
          details: { parameter: `valuesFrom.${k}` },
        },
      );
    }
  }
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const compiled = new Map<string, ValidateFunction>();
/** A chart's values.yaml, parsed, by its content's hash (frozen: every install of the chart shares it). */
const parsedValues = new Map<string, unknown>();

/**
 * A chart's values.yaml as data. Parsed once per content: a chart's values.yaml runs to a thousand lines, and
 * parsing it for every install was the largest part of rendering one.
 */
function chartDefaults(text: Buffer): unknown {
  const hash = createHash('sha256').update(text).digest('hex');
  if (parsedValues.has(hash)) return parsedValues.get(hash);
  const values = deepFreeze(parseYaml(text.toString('utf8')));
  if (parsedValues.size > 100) parsedValues.clear();
  parsedValues.set(hash, values);
  return values;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Helm's merge of values: maps merge key by key, anything else replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** A warning-level note: something the installer could not check before commit (Helm checks it later). */
const note = (key: string, file: string, message: string): ValidationFinding => ({
  file,
  object: `artifact ${key}`,
  message,
  artifact: key,
  severity: 'warning',
});

/**
 * A local chart with a values.schema.json: the values Helm would see (the chart's values.yaml, the profile's
 * defaults, the user's values) must validate, as `helm install` would check them; findings name the artifact
 * and the JSON path. What cannot be checked here is said, never skipped silently: a chart from a Helm
 * repository or OCI registry is not fetched (its schema is unknown until Flux pulls it), and values from
 * valuesFrom live in the cluster. Returns those notes (warnings).
 */
export function checkValuesSchema(
  key: string,
  a: ResolvedArtifact,
  userValues: unknown,
  valuesFrom: ValuesReference[] = [],
): ValidationFinding[] {
  if (a.kind !== 'chart') return [];
  const notes: ValidationFinding[] = [];
  if (!a.localPath) {
    notes.push(
      note(
        key,
        'HelmRelease.yaml',
        `values not checked against a values.schema.json: chart ${a.def.chart?.name ?? key} comes from ${a.def.chart?.url ?? 'a Helm repository'} and is not fetched before commit (Helm checks the values when Flux installs it)`,
      ),
    );
    return notes;
  }
  const schemaText = a.files?.get('values.schema.json');
  if (!schemaText) return notes;
  if (valuesFrom.length) {
    const refs = valuesFrom.map((r) => `${r.kind} ${r.name}`).join(', ');
    notes.push(
      note(
        key,
        'values.schema.json',
        `values from valuesFrom (${refs}) are in the cluster and not checked against the chart's values.schema.json; the defaults and inline values were checked (Helm checks the merged values when Flux installs it)`,
      ),
    );
  }
  const hash = createHash('sha256').update(schemaText).digest('hex');
  let validate = compiled.get(hash);
  if (!validate) {
    try {
      // Helm ignores `$schema` (charts name drafts and URLs Ajv does not ship).
      const { $schema: _, ...schema } = JSON.parse(schemaText.toString('utf8')) as Record<string, unknown>;
      validate = ajv.compile(schema);
    } catch {
      // A schema Helm could not use either: nothing to check against, and said so.
      notes.push(
        note(key, 'values.schema.json', 'values.schema.json is not a JSON schema: values not checked'),
      );
      return notes;
    }
    if (compiled.size > 100) compiled.clear();
    compiled.set(hash, validate);
  }
  const chartValues = a.files?.get('values.yaml');
  const values = merge(merge(chartValues ? chartDefaults(chartValues) : {}, a.defaultValues), userValues);
  if (validate(values ?? {})) return notes;
  const findings: ValidationFinding[] = (validate.errors ?? []).slice(0, 20).map((e) => {
    const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '.';
    return {
      file: 'values.schema.json',
      object: `artifact ${key}`,
      message: `${path} ${e.message ?? 'is invalid'}`,
      artifact: key,
      path,
    };
  });
  throw new AppError(
    'VALUES_INVALID',
    `values of artifact ${JSON.stringify(key)} fail the chart's values.schema.json: ${findings
      .slice(0, 3)
      .map((f) => f.message)
      .join('; ')}`,
    { details: { parameter: `values.${key}`, findings } },
  );
}
