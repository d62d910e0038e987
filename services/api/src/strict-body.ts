import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler, RouteShorthandOptions } from 'fastify';
import { AppError } from '@profiles/shared';

// Bodies are JSON: their types are checked as sent. Query strings and headers arrive as text and are coerced.
const strict = new Ajv({
  strict: false,
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
});
const coercing = new Ajv({
  strict: false,
  coerceTypes: true,
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
});

const compiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema as object) as ReturnType<
    FastifySchemaCompiler<unknown>
  >;

/** `target/path` or the missing property, as a dotted field name. */
function fieldOf(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').split('/').filter(Boolean);
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  if (missing) path.push(missing);
  const extra = (e.params as { additionalProperty?: string }).additionalProperty;
  if (extra) path.push(extra);
  return path.join('.') || 'body';
}

/**
 * Route options for a request body checked strictly: no type coercion, and a failure answered with
 * REQUEST_FIELD_INVALID naming the field.
 */
export function strictBody(schema: FastifySchema): RouteShorthandOptions {
  return {
    schema,
    validatorCompiler: compiler,
    schemaErrorFormatter: (errors, dataVar) => {
      const e = errors[0] as ErrorObject | undefined;
      // Not the body: Fastify marks this error as a validation failure, and the API's error handler answers it
      // as BAD_REQUEST naming the parameter, like every other route's.
      if (!e || dataVar !== 'body') return new Error(`${dataVar} ${e?.message ?? 'is invalid'}`);
      const field = fieldOf(e);
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      return new AppError(
        'REQUEST_FIELD_INVALID',
        extra ? `${field} is not a known field` : `${field} ${e.message ?? 'is invalid'}`,
        { details: { parameter: field } },
      );
    },
  };
}
