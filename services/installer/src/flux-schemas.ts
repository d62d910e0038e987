import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseYaml, type ValidationFinding } from '@profiles/shared';

export const BUNDLED_SCHEMAS_DIR = fileURLToPath(new URL('../schemas/flux/', import.meta.url));

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Name length limits of what we emit: a Helm release name is at most 53 characters, the rest 63. */
export const NAME_LIMITS: Record<string, number> = { HelmRelease: 53 };
export const DEFAULT_NAME_LIMIT = 63;

/**
 * Validates generated objects against the OpenAPI v3 schemas of the Flux CRDs (one validator per
 * group/version/kind, compiled at start). Kubernetes' `x-kubernetes-*` extensions are declared as annotations.
 */
export class FluxValidator {
  private constructor(private readonly validators: Map<string, ValidateFunction>) {}

  static async load(dir: string = BUNDLED_SCHEMAS_DIR): Promise<FluxValidator> {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    for (const k of [
      'x-kubernetes-preserve-unknown-fields',
      'x-kubernetes-int-or-string',
      'x-kubernetes-embedded-resource',
      'x-kubernetes-list-type',
      'x-kubernetes-list-map-keys',
      'x-kubernetes-map-type',
      'x-kubernetes-validations',
    ]) {
      ajv.addKeyword({ keyword: k });
    }
    const validators = new Map<string, ValidateFunction>();
    for (const f of (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const crd = parseYaml(await readFile(join(dir, f), 'utf8'), { maxBytes: 4 * 1024 * 1024 }) as {
        spec: {
          group: string;
          names: { kind: string };
          versions: { name: string; schema?: { openAPIV3Schema: object } }[];
        };
      };
      for (const v of crd.spec.versions) {
        if (!v.schema) continue;
        validators.set(
          `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`,
          ajv.compile(v.schema.openAPIV3Schema),
        );
      }
    }
    return new FluxValidator(validators);
  }

  has(apiVersion: string, kind: string): boolean {
    return this.validators.has(`${apiVersion}/${kind}`);
  }

  validate(file: string, obj: Record<string, any>): ValidationFinding[] {
    const id = `${obj.kind}/${obj.metadata?.name}`;
    const out: ValidationFinding[] = [];
    const name = String(obj.metadata?.name ?? '');
    const limit = NAME_LIMITS[obj.kind] ?? DEFAULT_NAME_LIMIT;
    if (!DNS1123.test(name) || name.length > limit) {
      out.push({
        file,
        object: id,
        message: `metadata.name must be a DNS-1123 name of at most ${limit} characters`,
      });
    }
    const v = this.validators.get(`${obj.apiVersion}/${obj.kind}`);
    if (!v) {
      if (!(obj.apiVersion === 'v1' && obj.kind === 'ConfigMap')) {
        out.push({ file, object: id, message: `no schema for ${obj.apiVersion} ${obj.kind}` });
      }
      return out;
    }
    if (!v(obj)) {
      for (const e of v.errors ?? []) {
        out.push({ file, object: id, message: `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` });
      }
    }
    return out;
  }
}
