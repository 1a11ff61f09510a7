// The helpers every part of the OpenAPI document builds its entries with (api/schemas/openapi.ts and the parts it
// merges: openapi-everyday, openapi-wallets, openapi-webhooks, openapi-portal). One set, so an error answer or a
// query parameter is described the same way on every route.
import { z } from 'zod';

/** The JSON Schema of a zod schema, without its $schema line (`io: 'input'` for request bodies and queries). */
export function schemaOf(s: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const ERROR_DESCRIPTIONS = {
  '400': 'Malformed JSON',
  '401': 'Missing or invalid API key',
  '404': 'Not found (`<resource>_not_found`)',
  '405': "Not allowed in the resource's state (`code` says why)",
  '409': 'Idempotency-Key reused with a different body',
  '422': 'Validation errors (`error_details: {field: [codes]}`)',
} as const;
export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** Lago's error answers (`{status, error, code, error_details}`) for the given statuses; `notFound` names the 404's codes. */
export function errorAnswers(statuses: ErrorStatus[], notFound?: string): Record<string, { description: string; content: unknown }> {
  const out: Record<string, { description: string; content: unknown }> = {};
  for (const s of statuses) {
    const description = s === '404' && notFound !== undefined ? `Not found (${notFound})` : ERROR_DESCRIPTIONS[s];
    out[s] = { description, content: { 'application/json': { schema: ref('Error') } } };
  }
  return out;
}

/** The 200 answer with its body schema (a component: api/schemas/responses.ts or a part's own). */
export function okResponse(name: string, description = 'OK (Lago envelope)') {
  return { '200': { description, content: { 'application/json': { schema: ref(name) } } } };
}

export const idempotencyKeyHeader = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } };

/** A required string path parameter. */
export const pathParam = (name: string, format?: string) => ({ name, in: 'path', required: true, schema: { type: 'string', ...(format ? { format } : {}) } });

/** One required string parameter per `{name}` of the path template. */
export function pathParameters(path: string) {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => pathParam(m[1]!));
}

/** A required JSON request body whose schema is the named component. */
export const jsonBody = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });

/** The query parameters of the zod schema that validates the query (its top-level properties). */
export function queryParameters(query: z.ZodObject | undefined) {
  if (!query) return [];
  const json = schemaOf(query) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (json.required ?? []).includes(name), schema }));
}
