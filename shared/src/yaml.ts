import {
  parseAllDocuments,
  stringify,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type ToJSOptions,
} from 'yaml';
import { AppError } from './errors.ts';
import { scanYamlShape } from './yaml-bounds.ts';

/**
 * Limits for YAML that comes from users or repositories: sizes are bytes, aliases stop billion-laughs, depth and
 * nodes are checked by a linear pre-scan before the parser runs (deep or huge inputs inside the size limit cost
 * the parser seconds and hundreds of MB).
 */
export interface YamlLimits {
  maxBytes: number;
  maxAliasCount: number;
  maxDocuments: number;
  maxDepth: number;
  maxNodes: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 1024 * 1024,
  maxAliasCount: 100,
  maxDocuments: 100,
  maxDepth: 64,
  maxNodes: 100_000,
};

/**
 * Parses a (possibly multi-document) YAML text into plain values. Throws YAML_MALFORMED with the line and
 * column of the first error; empty documents (e.g. a trailing `---`) are dropped.
 */
export function parseYamlDocuments(text: string, limits: Partial<YamlLimits> = {}): unknown[] {
  const l = { ...DEFAULT_YAML_LIMITS, ...limits };
  const size = Buffer.byteLength(text, 'utf8');
  if (size > l.maxBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `YAML is ${size} bytes, more than the limit of ${l.maxBytes}`);
  }
  const shape = scanYamlShape(text, l);
  if (shape.depth > l.maxDepth) {
    throw new AppError(
      'YAML_MALFORMED',
      `YAML nests deeper than the limit of ${l.maxDepth} levels at line ${shape.deepLine ?? '?'}`,
    );
  }
  if (shape.nodes > l.maxNodes) {
    throw new AppError('YAML_MALFORMED', `YAML has more than the limit of ${l.maxNodes} nodes`);
  }
  const options: ParseOptions & DocumentOptions & SchemaOptions = {
    prettyErrors: true,
    uniqueKeys: true,
    version: '1.2',
  };
  const docs = parseAllDocuments(text, options);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > l.maxDocuments) {
    throw new AppError(
      'YAML_MALFORMED',
      `YAML has ${list.length} documents, more than the limit of ${l.maxDocuments}`,
    );
  }
  const out: unknown[] = [];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      const pos = first.linePos?.[0];
      const message = (first.message.split('\n')[0] ?? 'malformed YAML').replace(/:$/, '');
      // prettyErrors already ends the message with the position; add it only when missing.
      const where = pos && !/at line \d+/.test(message) ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw new AppError('YAML_MALFORMED', `${message}${where}`);
    }
    const toJs: ToJSOptions = { maxAliasCount: l.maxAliasCount };
    let value: unknown;
    try {
      value = doc.toJS(toJs);
    } catch (err) {
      throw new AppError('YAML_MALFORMED', (err as Error).message, { cause: err });
    }
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Parses exactly one YAML document. */
export function parseYaml(text: string, limits: Partial<YamlLimits> = {}): unknown {
  const docs = parseYamlDocuments(text, limits);
  if (docs.length > 1)
    throw new AppError('YAML_MALFORMED', `expected one YAML document, found ${docs.length}`);
  return docs[0] ?? null;
}

/**
 * Writes YAML that Kubernetes (a YAML 1.1 reader) reads back unchanged: YAML 1.1 mode quotes strings such
 * as `yes`, `on` and `no` that a 1.1 reader would otherwise take for booleans.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { version: '1.1', lineWidth: 0 });
}
