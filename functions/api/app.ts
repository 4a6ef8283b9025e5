/**
 * The HTTP API. The same app serves Lambda (through `hono/aws-lambda`) and the local runtime.
 *
 * How a route is added: call `routes.add(spec, handler)` (see `route.ts`), never `app.get/put/...`.
 * The spec names the method, the path (`/things/:id`), a summary, zod schemas for `params`, `query`,
 * `headers` (lower-case names) and a JSON `body`, and the responses by status. The handler receives
 * `{ params, query, headers, body }` already validated and typed; a request that fails a schema gets a
 * 400 in Baton's shape (`{error: {code, message, details: [{path, message}]}}`) before the handler
 * runs. Values that will be stored go through `limitedJson` (engine/limits.ts). The spec also puts the
 * route in `/openapi.json`, which a test checks lists every route the app serves. Group routes of one
 * concept in their own file exporting `xxxRoutes(routes, deps)`, and call it below.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ContentionError, notFound, RequestError } from '../common/errors.js';
import { parseDefinition } from '../engine/definition/validate.js';
import { MAX_BODY_BYTES } from '../engine/limits.js';
import { cancel } from '../orchestrator/cancel.js';
import type { Deps } from '../orchestrator/deps.js';
import { mapProgress } from '../orchestrator/map-operations.js';
import { findRecursion } from '../orchestrator/recursion.js';
import { startWorkflow } from '../orchestrator/start.js';
import { loadWorkflow } from '../orchestrator/workflows.js';
import { getDefinition, latestDefinition, listWorkflows, saveDefinition } from '../store/definitions.js';
import { TERMINAL_RUN, TERMINAL_TASK } from '../store/items.js';
import { getRun, listChildLinks, listRuns, runItems } from '../store/runs.js';
import { callbackRoutes } from './callbacks.js';
import { mapItemRoutes } from './map-items.js';
import { openApiDocument } from './openapi.js';
import { operationRoutes } from './operations.js';
import { poolRoutes } from './pools.js';
import { Routes } from './route.js';
import { childView, runView } from './run-view.js';
import { scheduleRoutes } from './schedules.js';
import { idempotencyHeaders, positiveIntString, runParams, runPath, workflowPath } from './schemas.js';

export { MAX_BODY_BYTES };

/** Most runs one page of `GET /workflows/{name}/runs` returns. */
export const MAX_RUNS_PAGE = 100;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** `POST /workflows/{name}/runs`: an empty body means no params and the latest version. */
export const startRunBody = z
  .strictObject(
    {
      params: runParams.optional(),
      version: z.int({ error: 'expected a positive integer' }).min(1, { error: 'expected a positive integer' }).optional(),
    },
    { error: 'the body must be a JSON object such as {"params": {...}}' },
  )
  .optional();

/** The HTTP API over `deps`. */
export function createApp(deps: Deps) {
  const app = new Hono();
  const routes = new Routes(app);

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new RequestError(413, 'body_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  routes.add({ method: 'get', path: '/health', summary: 'Liveness', responses: { 200: 'ok' } }, (c) => c.json({ ok: true }));

  // What clients (the console) must not copy: which statuses are final, so they know when to stop polling.
  routes.add(
    {
      method: 'get',
      path: '/meta',
      summary: 'Terminal run and task statuses (when a client stops polling)',
      responses: { 200: 'statuses' },
    },
    (c) => c.json({ terminalRunStatuses: [...TERMINAL_RUN], terminalTaskStatuses: [...TERMINAL_TASK] }),
  );

  routes.add(
    {
      method: 'put',
      path: '/workflows/:name',
      summary: 'Store a definition as a new version (the same as the latest is a no-op)',
      params: workflowPath,
      rawBody: {
        contentTypes: ['application/json', 'application/yaml'],
        description: 'the definition, JSON or YAML (docs/definitions.md); a `name` in it must equal the URL name',
      },
      responses: {
        200: 'unchanged',
        201: 'stored as a new version',
        400: 'invalid definition',
        413: 'body too large',
        503: 'contention; retry',
      },
    },
    async (c, { params }) => {
      const parsed = parseDefinition(await c.req.text(), {
        contentType: c.req.header('content-type'),
        name: params.name,
        executors: deps.executors,
      });
      const errors = parsed.ok ? await findRecursion(deps.db, parsed.value) : parsed.errors;
      if (!parsed.ok || errors.length > 0)
        throw new RequestError(400, 'invalid_definition', `the definition has ${errors.length} error(s)`, errors);
      const saved = await saveDefinition(deps.db, parsed.value, deps.now());
      return c.json({ name: params.name, version: saved.version, created: saved.created }, saved.created ? 201 : 200);
    },
  );

  routes.add({ method: 'get', path: '/workflows', summary: 'List workflows', responses: { 200: 'workflows' } }, async (c) => {
    const workflows = await listWorkflows(deps.db);
    return c.json({ workflows: workflows.map((w) => ({ ...w, createdAt: iso(w.createdAt), updatedAt: iso(w.updatedAt) })) });
  });

  routes.add(
    {
      method: 'get',
      path: '/workflows/:name',
      summary: 'A definition: the latest version, or ?version=N',
      params: workflowPath,
      query: z.object({ version: positiveIntString.optional() }),
      responses: { 200: 'the definition', 404: 'not found' },
    },
    async (c, { params: { name }, query: { version } }) => {
      const item = version === undefined ? await latestDefinition(deps.db, name) : await getDefinition(deps.db, name, version);
      if (!item) throw notFound(version === undefined ? `workflow ${name}` : `workflow ${name} version ${version}`);
      return c.json({ name, version: item.version, createdAt: iso(item.createdAt), definition: item.definition });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/workflows/:name/runs',
      summary: 'Start a run (Idempotency-Key: the same key names the same run)',
      params: workflowPath,
      headers: idempotencyHeaders,
      body: startRunBody,
      responses: {
        200: 'the run this key made before',
        201: 'created',
        400: 'invalid params',
        404: 'unknown workflow or version',
        409: 'key reused with another request',
      },
    },
    async (c, { params, headers, body }) => {
      const started = await startWorkflow(deps, {
        workflow: params.name,
        version: body?.version,
        params: body?.params,
        idempotencyKey: headers['idempotency-key'],
        trigger: { type: 'api', identity: callerIdentity(c.env) },
        inline: true,
      });
      return c.json({ runId: started.runId, version: started.version, created: started.created }, started.created ? 201 : 200);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/workflows/:name/runs',
      summary: 'Runs of a workflow, newest first',
      params: workflowPath,
      query: z.object({
        limit: positiveIntString.refine((n) => n <= MAX_RUNS_PAGE, { error: `must be at most ${MAX_RUNS_PAGE}` }).optional(),
        status: z.string().max(32).optional(),
        cursor: z.string().max(2048).optional(),
      }),
      responses: { 200: 'a page of runs', 400: 'bad query' },
    },
    async (c, { params, query: { limit = 20, status, cursor } }) => {
      let page: Awaited<ReturnType<typeof listRuns>>;
      try {
        page = await listRuns(deps.db, params.name, { status, limit, cursor });
      } catch (err) {
        if (cursor && err instanceof SyntaxError)
          throw new RequestError(400, 'invalid_query', 'cursor is not valid', [{ path: 'cursor', message: 'invalid' }]);
        throw err;
      }
      return c.json({ runs: page.runs.map((r) => ({ ...r, createdAt: iso(r.createdAt), endedAt: iso(r.endedAt) })), cursor: page.cursor });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/runs/:runId',
      summary: 'A run and its tasks',
      params: runPath,
      responses: { 200: 'the run', 404: 'not found' },
    },
    async (c, { params: { runId } }) => {
      const run = await getRun(deps.db, runId);
      if (!run) throw notFound(`run ${runId}`);
      // A run whose definition cannot be loaded (it failed with engine_error for that) is still shown.
      const [items, wf] = await Promise.all([
        runItems(deps.db, run.runId),
        loadWorkflow(deps.db, run.workflow, run.version).catch(() => undefined),
      ]);
      const maps = wf ? await mapProgress(deps, run, items) : {};
      return c.json(runView(run, items, wf, maps));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/cancel',
      summary: 'Cancel a run: its running tasks are stopped, waits end, children are cancelled',
      params: runPath,
      responses: { 202: 'cancelled', 404: 'not found', 409: 'already finished' },
    },
    async (c, { params: { runId } }) => {
      const run = await cancel(deps, runId);
      if (run) return c.json({ runId, status: run.status }, 202);
      const existing = await getRun(deps.db, runId);
      if (!existing) throw notFound(`run ${runId}`);
      throw new RequestError(409, 'run_finished', `run ${runId} is already ${existing.status}`);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/runs/:runId/children',
      summary: 'The sub-workflow runs a run started',
      params: runPath,
      responses: { 200: 'children', 404: 'not found' },
    },
    async (c, { params: { runId } }) => {
      const run = await getRun(deps.db, runId);
      if (!run) throw notFound(`run ${runId}`);
      return c.json({ children: (await listChildLinks(deps.db, run.runId)).map(childView) });
    },
  );

  callbackRoutes(routes, deps);
  scheduleRoutes(routes, deps);
  operationRoutes(routes, deps);
  poolRoutes(routes, deps);
  mapItemRoutes(routes, deps);

  routes.add({ method: 'get', path: '/openapi.json', summary: 'This document', responses: { 200: 'OpenAPI 3.1' } }, (c) =>
    c.json(openApiDocument(routes.specs, { title: 'Baton', version: '1' })),
  );

  app.notFound(() => {
    throw notFound('route');
  });

  app.onError((err, c) => {
    if (err instanceof RequestError) return c.json(err.toJSON(), err.statusCode as ContentfulStatusCode);
    if (err instanceof ContentionError) {
      deps.log.warn({ err, bound: err.bound, attempts: err.attempts, path: c.req.path }, 'retry bound reached');
      return c.json({ error: { code: err.code, message: err.message, details: [] } }, 503, { 'Retry-After': '1' });
    }
    if (err.name === 'ValidationException') {
      // A backstop: the limits at the edge should refuse anything DynamoDB would; if one slips by, the
      // caller still learns it was the data (and the log shows which limit is missing).
      deps.log.error({ err, path: c.req.path }, 'request data refused by DynamoDB');
      return c.json({ error: { code: 'unstorable', message: `the request data cannot be stored: ${err.message}`, details: [] } }, 400);
    }
    deps.log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: { code: 'internal', message: 'internal error', details: [] } }, 500);
  });

  return app;
}

/** The caller as API Gateway saw it (IAM or JWT), when the app runs in Lambda. */
function callerIdentity(env: unknown): string | undefined {
  const ctx = (env as { event?: { requestContext?: { authorizer?: { iam?: { userArn?: string }; jwt?: { claims?: { sub?: string } } } } } })
    ?.event?.requestContext?.authorizer;
  return ctx?.iam?.userArn ?? ctx?.jwt?.claims?.sub;
}
