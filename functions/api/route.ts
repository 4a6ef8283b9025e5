/**
 * The one way a route declares and validates its input. A route is a `RouteSpec` (method, path, zod
 * schemas for path params, query, headers and body, and its responses) plus a handler that receives
 * the validated input. The same specs generate `/openapi.json` (see `openapi.ts`).
 *
 * Path params, query and headers go through Hono's `validator`. The body is parsed here, once, as JSON
 * whatever its Content-Type: Hono's `json` target skips a body not labelled JSON, and `curl -d` labels
 * it as a form, which would silently drop a run's params.
 */
import type { Context, Hono } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { RequestError } from '../common/errors.js';
import { fromZodIssues } from '../engine/definition/zod-issues.js';

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a route declares. Paths use Hono's `:name` syntax. */
export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  H extends Schema | undefined,
  B extends Schema | undefined,
> {
  readonly method: 'get' | 'put' | 'post' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly params?: P;
  readonly query?: Q;
  /** Header names in lower case. */
  readonly headers?: H;
  /** A JSON body; an empty body reaches the schema as `undefined`. */
  readonly body?: B;
  /** Error code for a body that fails `body` (default `invalid_body`). */
  readonly bodyCode?: string;
  /** A body the handler reads itself (a definition in JSON or YAML), for the document only. */
  readonly rawBody?: { readonly contentTypes: readonly string[]; readonly description: string };
  /** Status code to description. */
  readonly responses: Readonly<Record<number, string>>;
}

/** The validated input a handler receives. */
export interface RouteInput<P, Q, H, B> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly headers: Out<H>;
  readonly body: Out<B>;
}

/** Any declared route, as the OpenAPI generator sees it. */
export type AnyRouteSpec = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined, Schema | undefined>;

/** A 400 in Baton's error shape, each zod issue a detail with its path. */
export function invalid(code: string, issues: readonly z.core.$ZodIssue[], prefix = ''): RequestError {
  const details = fromZodIssues(prefix, issues);
  const summary = details
    .slice(0, 3)
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join('; ');
  return new RequestError(400, code, `${summary}${details.length > 3 ? ` (and ${details.length - 3} more)` : ''}`, details);
}

function check<S extends Schema>(schema: S, value: unknown, code: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(code, code === 'invalid_header' ? r.error.issues.map(headerCase) : r.error.issues);
  return r.data;
}

/** Hono gives header names in lower case; errors name them as written in the docs (`Idempotency-Key`). */
function headerCase(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  const [first, ...rest] = issue.path;
  if (typeof first !== 'string') return issue;
  return { ...issue, path: [first.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase()), ...rest] };
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, 'bad_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Registers routes on one Hono app and remembers their specs for the OpenAPI document. */
export class Routes {
  readonly specs: AnyRouteSpec[] = [];
  constructor(readonly app: Hono) {}

  add<P extends Schema | undefined, Q extends Schema | undefined, H extends Schema | undefined, B extends Schema | undefined>(
    spec: RouteSpec<P, Q, H, B>,
    handler: (c: Context, input: RouteInput<P, Q, H, B>) => Response | Promise<Response>,
  ): void {
    this.specs.push(spec as AnyRouteSpec);
    const params = spec.params;
    const query = spec.query;
    const headers = spec.headers;
    const body = spec.body;
    this.app.on(
      spec.method.toUpperCase(),
      spec.path,
      validator('param', (v) => (params ? check(params, v, 'invalid_path') : undefined)),
      validator('query', (v) => (query ? check(query, v, 'invalid_query') : undefined)),
      validator('header', (v) => (headers ? check(headers, v, 'invalid_header') : undefined)),
      async (c) => {
        const input = {
          params: c.req.valid('param' as never),
          query: c.req.valid('query' as never),
          headers: c.req.valid('header' as never),
          body: body ? check(body, await jsonBody(c), spec.bodyCode ?? 'invalid_body') : undefined,
        } as RouteInput<P, Q, H, B>;
        return handler(c, input);
      },
    );
  }
}
