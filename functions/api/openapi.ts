/**
 * The OpenAPI 3.1 document of the API, generated from the routes' own zod schemas (zod 4's
 * `toJSONSchema`, draft 2020-12, which is OpenAPI 3.1's dialect), so it cannot drift from what the
 * routes validate. Served at `GET /openapi.json`.
 */
import { z } from 'zod';
import type { AnyRouteSpec } from './route.js';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
} as const;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Parameters of one location (`path`, `query`, `header`) from an object schema. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query' | 'header') {
  if (!schema) return [];
  const s = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name: where === 'header' ? name.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase()) : name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: p,
  }));
}

/** `:name` (Hono) to `{name}` (OpenAPI). */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The document for `specs`. */
export function openApiDocument(specs: readonly AnyRouteSpec[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = openApiPath(spec.path);
    const responses = Object.fromEntries(
      Object.entries(spec.responses).map(([status, description]) => [
        status,
        Number(status) >= 400
          ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
          : { description },
      ]),
    );
    const body = spec.body
      ? { required: false, content: { 'application/json': { schema: jsonSchema(spec.body) } } }
      : spec.rawBody
        ? {
            required: true,
            description: spec.rawBody.description,
            content: Object.fromEntries(spec.rawBody.contentTypes.map((t) => [t, { schema: { type: 'object' } }])),
          }
        : undefined;
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[spec.method] = {
      summary: spec.summary,
      operationId: `${spec.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch?: string) => (ch ?? '').toUpperCase())}`,
      parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query'), ...parameters(spec.headers, 'header')],
      ...(body && { requestBody: body }),
      responses: {
        ...responses,
        default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  };
}
