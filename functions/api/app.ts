import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { notFound, RequestError } from '../common/errors.js';
import { parseDefinition } from '../engine/definition/validate.js';
import { cancel } from '../orchestrator/cancel.js';
import type { Deps } from '../orchestrator/deps.js';
import { findRecursion } from '../orchestrator/recursion.js';
import { startWorkflow } from '../orchestrator/start.js';
import { loadWorkflow } from '../orchestrator/workflows.js';
import { getDefinition, latestDefinition, listWorkflows, saveDefinition } from '../store/definitions.js';
import type { ChildLinkItem } from '../store/items.js';
import { getRun, listRuns, runItems } from '../store/runs.js';
import { callbackRoutes } from './callbacks.js';
import { childView, runView } from './run-view.js';
import { scheduleRoutes } from './schedules.js';

/** Request bodies past this size get a 413; a definition must also fit one DynamoDB item. */
export const MAX_BODY_BYTES = 512 * 1024;

/** The HTTP API. The same app serves Lambda (through `hono/aws-lambda`) and the local runtime. */
export function createApp(deps: Deps) {
  const app = new Hono();

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new RequestError(413, 'body_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.get('/health', (c) => c.json({ ok: true }));

  app.put('/workflows/:name', async (c) => {
    const name = c.req.param('name');
    const parsed = parseDefinition(await c.req.text(), {
      contentType: c.req.header('content-type'),
      nameFromPath: name,
      executors: deps.executors,
    });
    const errors = parsed.ok ? await findRecursion(deps.db, parsed.value) : parsed.errors;
    if (!parsed.ok || errors.length > 0)
      throw new RequestError(400, 'invalid_definition', `the definition has ${errors.length} error(s)`, errors);
    const saved = await saveDefinition(deps.db, parsed.value, deps.now());
    return c.json({ name, version: saved.version, created: saved.created }, saved.created ? 201 : 200);
  });

  app.get('/workflows', async (c) => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const workflows = await listWorkflows(deps.db);
    return c.json({ workflows: workflows.map((w) => ({ ...w, createdAt: iso(w.createdAt), updatedAt: iso(w.updatedAt) })) });
  });

  app.get('/workflows/:name', async (c) => {
    const name = c.req.param('name');
    const v = c.req.query('version');
    const version = v === undefined ? undefined : positiveInt(v, 'version');
    const item = version === undefined ? await latestDefinition(deps.db, name) : await getDefinition(deps.db, name, version);
    if (!item) throw notFound(version === undefined ? `workflow ${name}` : `workflow ${name} version ${version}`);
    return c.json({ name, version: item.version, createdAt: new Date(item.createdAt).toISOString(), definition: item.definition });
  });

  app.post('/workflows/:name/runs', async (c) => {
    const body = await jsonBody(c.req.raw);
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw new RequestError(400, 'invalid_body', 'the body must be a JSON object such as {"params": {...}}');
    }
    const b = (body ?? {}) as { params?: unknown; version?: unknown };
    const extra = Object.keys(b).filter((k) => k !== 'params' && k !== 'version');
    if (extra.length)
      throw new RequestError(
        400,
        'invalid_body',
        `unknown field(s): ${extra.join(', ')}`,
        extra.map((k) => ({ path: k, message: 'unknown field' })),
      );
    const version = b.version === undefined ? undefined : positiveInt(b.version, 'version');
    const key = c.req.header('idempotency-key');
    if (key !== undefined && (key.length === 0 || key.length > 255)) {
      throw new RequestError(400, 'invalid_header', 'Idempotency-Key must be 1 to 255 characters', [
        { path: 'Idempotency-Key', message: 'length' },
      ]);
    }
    const started = await startWorkflow(deps, {
      workflow: c.req.param('name'),
      version,
      params: b.params,
      idempotencyKey: key,
      trigger: { type: 'api', identity: callerIdentity(c.env) },
    });
    return c.json({ runId: started.runId, version: started.version, created: started.created }, started.created ? 201 : 200);
  });

  app.get('/workflows/:name/runs', async (c) => {
    const limit = c.req.query('limit') === undefined ? 20 : positiveInt(c.req.query('limit'), 'limit');
    if (limit > 100) throw new RequestError(400, 'invalid_query', 'limit must be at most 100', [{ path: 'limit', message: 'at most 100' }]);
    const status = c.req.query('status');
    const cursor = c.req.query('cursor');
    let page: Awaited<ReturnType<typeof listRuns>>;
    try {
      page = await listRuns(deps.db, c.req.param('name'), { status, limit, cursor });
    } catch (err) {
      if (cursor && err instanceof SyntaxError)
        throw new RequestError(400, 'invalid_query', 'cursor is not valid', [{ path: 'cursor', message: 'invalid' }]);
      throw err;
    }
    const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return c.json({ runs: page.runs.map((r) => ({ ...r, createdAt: iso(r.createdAt), endedAt: iso(r.endedAt) })), cursor: page.cursor });
  });

  app.get('/runs/:runId', async (c) => {
    const run = await getRun(deps.db, c.req.param('runId'));
    if (!run) throw notFound(`run ${c.req.param('runId')}`);
    const [items, wf] = await Promise.all([runItems(deps.db, run.runId), loadWorkflow(deps.db, run.workflow, run.version)]);
    return c.json(runView(run, items, wf));
  });

  app.post('/runs/:runId/cancel', async (c) => {
    const runId = c.req.param('runId');
    const run = await cancel(deps, runId);
    if (run) return c.json({ runId, status: run.status }, 202);
    const existing = await getRun(deps.db, runId);
    if (!existing) throw notFound(`run ${runId}`);
    throw new RequestError(409, 'run_finished', `run ${runId} is already ${existing.status}`);
  });

  app.get('/runs/:runId/children', async (c) => {
    const run = await getRun(deps.db, c.req.param('runId'));
    if (!run) throw notFound(`run ${c.req.param('runId')}`);
    const links = await deps.db.queryAll<ChildLinkItem>(`RUN#${run.runId}`, 'CHILD#');
    return c.json({ children: links.map(childView) });
  });

  app.route('/', callbackRoutes(deps));
  app.route('/', scheduleRoutes(deps));

  app.notFound(() => {
    throw notFound('route');
  });

  app.onError((err, c) => {
    if (err instanceof RequestError) return c.json(err.toJSON(), err.statusCode as ContentfulStatusCode);
    deps.log.error({ err: String(err), stack: err.stack, path: c.req.path }, 'request failed');
    return c.json({ error: { code: 'internal', message: 'internal error', details: [] } }, 500);
  });

  return app;
}

function positiveInt(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RequestError(400, 'invalid_query', `${field} must be a positive integer`, [
      { path: field, message: 'expected a positive integer' },
    ]);
  }
  return n;
}

async function jsonBody(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, 'bad_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The caller as API Gateway saw it (IAM or JWT), when the app runs in Lambda. */
function callerIdentity(env: unknown): string | undefined {
  const ctx = (env as { event?: { requestContext?: { authorizer?: { iam?: { userArn?: string }; jwt?: { claims?: { sub?: string } } } } } })
    ?.event?.requestContext?.authorizer;
  return ctx?.iam?.userArn ?? ctx?.jwt?.claims?.sub;
}
