import { type Context, Hono } from 'hono';
import { notFound, RequestError } from '../common/errors.js';
import { digest } from '../common/ids.js';
import { isPlainObject, resolveParams, typeName } from '../engine/definition/params.js';
import { NAME_PATTERN } from '../engine/definition/schema.js';
import {
  type CronSpec,
  checkScheduleParams,
  formatFireTime,
  MISFIRE_POLICIES,
  type MisfirePolicy,
  nextFireTimes,
  parseCron,
  renderScheduleParams,
} from '../engine/schedule/index.js';
import { backfillView, cancelBackfill, MAX_PARALLELISM, startBackfill } from '../orchestrator/backfill.js';
import type { Deps } from '../orchestrator/deps.js';
import { DEFAULT_MISFIRE_CAP, MAX_MISFIRE_CAP, nextFireAfter, scheduleRunKey } from '../orchestrator/scheduler.js';
import { getBackfill } from '../store/backfills.js';
import { type DefinitionItem, getDefinition, latestDefinition } from '../store/definitions.js';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  replaceSchedule,
  type ScheduleFields,
  type ScheduleItem,
  setEnabled,
} from '../store/schedules.js';

/**
 * Schedules and backfills:
 * - `PUT/GET/DELETE /workflows/{name}/schedules/{id}`, `GET /workflows/{name}/schedules`,
 *   `POST .../schedules/{id}/pause`, `POST .../schedules/{id}/resume`,
 *   `GET .../schedules/{id}/next?count=5` (next fire times in the schedule's zone and in UTC);
 * - `POST /workflows/{name}/backfills` (Idempotency-Key honoured), `GET /backfills/{id}`,
 *   `POST /backfills/{id}/cancel`.
 * Every 400 names the offending field in `error.details[].path` (and in the message).
 */

const SCHEDULE_FIELDS = ['cron', 'timezone', 'start', 'end', 'enabled', 'misfirePolicy', 'misfireCap', 'params', 'version'] as const;
const BACKFILL_FIELDS = ['start', 'end', 'scheduleId', 'cron', 'timezone', 'mode', 'parallelism', 'rerun', 'params', 'version'] as const;
const MAX_NEXT = 100;

const bad = (code: string, path: string, message: string) => new RequestError(400, code, `${path}: ${message}`, [{ path, message }]);

async function jsonObject(req: Request, code: string): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, 'bad_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(body)) throw new RequestError(400, code, `the body must be a JSON object, got ${typeName(body)}`);
  return body;
}

function unknownFields(body: Record<string, unknown>, known: readonly string[], code: string) {
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  if (extra.length) {
    throw new RequestError(
      400,
      code,
      `unknown field(s): ${extra.join(', ')}`,
      extra.map((k) => ({ path: k, message: 'unknown field' })),
    );
  }
}

function instant(body: Record<string, unknown>, field: string, code: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw bad(code, field, `expected an ISO-8601 date-time such as 2026-01-31T00:00:00Z, got ${JSON.stringify(v)}`);
  return ms;
}

function optionalInt(body: Record<string, unknown>, field: string, code: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw bad(code, field, `expected an integer from ${min} to ${max}`);
  return v;
}

function cronOf(body: Record<string, unknown>, code: string, tzDefault = 'UTC'): CronSpec {
  if (typeof body.cron !== 'string')
    throw bad(code, 'cron', body.cron === undefined ? 'required' : `expected a string, got ${typeName(body.cron)}`);
  const tz = body.timezone ?? tzDefault;
  if (typeof tz !== 'string') throw bad(code, 'timezone', `expected an IANA time zone name, got ${typeName(tz)}`);
  const parsed = parseCron(body.cron, tz);
  if (!parsed.ok) throw bad(code, parsed.field, parsed.message);
  return parsed.cron;
}

async function definitionFor(deps: Deps, workflow: string, version: number | undefined): Promise<DefinitionItem> {
  const def = version === undefined ? await latestDefinition(deps.db, workflow) : await getDefinition(deps.db, workflow, version);
  if (!def) throw notFound(version === undefined ? `workflow ${workflow}` : `workflow ${workflow} version ${version}`);
  return def;
}

/** Checks run params against the workflow, rendered for a sample fire time; 400 with `params.x` paths. */
function checkParams(code: string, def: DefinitionItem, params: Record<string, unknown>, spec: CronSpec, sample: number, id: string) {
  const issues = checkScheduleParams(params);
  if (issues.length) throw new RequestError(400, code, `params: ${issues[0]?.message}`, issues);
  const resolved = resolveParams(def.definition.params, renderScheduleParams(params, new Date(sample), spec.timezone, id));
  if (!resolved.ok) {
    throw new RequestError(400, code, `params: ${resolved.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, resolved.errors);
  }
}

function idParam(value: string, what: string): string {
  if (!NAME_PATTERN.test(value))
    throw bad('invalid_path', what, 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)');
  return value;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function scheduleView(s: ScheduleItem) {
  return {
    workflow: s.workflow,
    scheduleId: s.scheduleId,
    cron: s.cron,
    timezone: s.timezone,
    dialect: s.spec.dialect,
    start: iso(s.start),
    end: iso(s.end),
    enabled: s.enabled,
    misfirePolicy: s.misfirePolicy,
    misfireCap: s.misfireCap,
    params: s.params,
    version: s.version,
    nextFireTime: s.enabled ? iso(s.dueAt) : undefined,
    handledUntil: iso(s.lastFireTime),
    lastFire: s.lastFire && { ...s.lastFire, fireTime: iso(s.lastFire.fireTime) },
    lastError: s.lastError && { ...s.lastError, at: iso(s.lastError.at), fireTime: iso(s.lastError.fireTime) },
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

function idempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && (header.length === 0 || header.length > 255)) {
    throw new RequestError(400, 'invalid_header', 'Idempotency-Key must be 1 to 255 characters', [
      { path: 'Idempotency-Key', message: 'length' },
    ]);
  }
  return header;
}

export function scheduleRoutes(deps: Deps) {
  const app = new Hono();
  const code = 'invalid_schedule';

  const mustGet = async (workflow: string, id: string) => {
    const s = await getSchedule(deps.db, workflow, id);
    if (!s) throw notFound(`schedule ${id} of workflow ${workflow}`);
    return s;
  };

  app.put('/workflows/:name/schedules/:id', async (c) => {
    const workflow = c.req.param('name');
    const scheduleId = idParam(c.req.param('id'), 'id');
    const body = await jsonObject(c.req.raw, code);
    unknownFields(body, SCHEDULE_FIELDS, code);
    const spec = cronOf(body, code);
    const start = instant(body, 'start', code);
    const end = instant(body, 'end', code);
    if (start !== undefined && end !== undefined && end < start) throw bad(code, 'end', 'must not be before start');
    if (body.enabled !== undefined && typeof body.enabled !== 'boolean')
      throw bad(code, 'enabled', `expected a boolean, got ${typeName(body.enabled)}`);
    const policy = body.misfirePolicy ?? 'skip';
    if (!MISFIRE_POLICIES.includes(policy as MisfirePolicy))
      throw bad(code, 'misfirePolicy', `expected one of ${MISFIRE_POLICIES.join(', ')}`);
    const misfireCap = optionalInt(body, 'misfireCap', code, 1, MAX_MISFIRE_CAP) ?? DEFAULT_MISFIRE_CAP;
    const version = optionalInt(body, 'version', code, 1, Number.MAX_SAFE_INTEGER);
    const params = body.params ?? {};
    if (!isPlainObject(params)) throw bad(code, 'params', `expected an object, got ${typeName(params)}`);
    const def = await definitionFor(deps, workflow, version);
    const now = deps.now();
    const sample = nextFireAfter(spec, now, start, end) ?? now;
    checkParams(code, def, params, spec, sample, scheduleId);
    const fields: ScheduleFields = {
      workflow,
      scheduleId,
      cron: spec.expression,
      timezone: spec.timezone,
      spec,
      ...(start !== undefined && { start }),
      ...(end !== undefined && { end }),
      enabled: body.enabled !== false,
      misfirePolicy: policy as MisfirePolicy,
      misfireCap,
      params,
      ...(version !== undefined && { version }),
    };
    for (let tries = 0; tries < 20; tries++) {
      const existing = await getSchedule(deps.db, workflow, scheduleId);
      if (!existing) {
        if (await createSchedule(deps.db, fields, now, nextFireAfter(spec, now, start, end))) {
          deps.log.info({ workflow, schedule: scheduleId, cron: spec.expression, timezone: spec.timezone }, 'schedule created');
          return c.json(scheduleView((await getSchedule(deps.db, workflow, scheduleId)) as ScheduleItem), 201);
        }
        continue;
      }
      // `enabled` left out keeps a paused schedule paused (pause/resume are the way to toggle it).
      const kept = body.enabled === undefined ? { ...fields, enabled: existing.enabled } : fields;
      const next = nextFireAfter(spec, existing.lastFireTime, start, end);
      const updated = await replaceSchedule(deps.db, existing, kept, deps.now(), next);
      if (updated) {
        deps.log.info({ workflow, schedule: scheduleId, cron: spec.expression, timezone: spec.timezone }, 'schedule updated');
        return c.json(scheduleView(updated), 200);
      }
    }
    throw new RequestError(409, 'conflict', `schedule ${scheduleId} is being changed concurrently; retry`);
  });

  app.get('/workflows/:name/schedules', async (c) => {
    const items = await listSchedules(deps.db, c.req.param('name'));
    return c.json({ schedules: items.map(scheduleView) });
  });

  app.get('/workflows/:name/schedules/:id', async (c) => c.json(scheduleView(await mustGet(c.req.param('name'), c.req.param('id')))));

  app.delete('/workflows/:name/schedules/:id', async (c) => {
    const workflow = c.req.param('name');
    const id = c.req.param('id');
    if (!(await deleteSchedule(deps.db, workflow, id))) throw notFound(`schedule ${id} of workflow ${workflow}`);
    deps.log.info({ workflow, schedule: id }, 'schedule deleted');
    return c.body(null, 204);
  });

  const toggle = (enabled: boolean) => async (c: Context) => {
    const workflow = c.req.param('name') as string;
    const id = c.req.param('id') as string;
    for (let tries = 0; tries < 20; tries++) {
      const s = await mustGet(workflow, id);
      if (s.enabled === enabled) return c.json(scheduleView(s));
      // Resuming: due again from the mark, so the time spent paused is handled by the misfire policy.
      const next = enabled ? nextFireAfter(s.spec, s.lastFireTime, s.start, s.end) : undefined;
      const done = await setEnabled(deps.db, s, enabled, deps.now(), next);
      if (done) {
        deps.log.info({ workflow, schedule: id, enabled }, enabled ? 'schedule resumed' : 'schedule paused');
        return c.json(scheduleView(done));
      }
    }
    throw new RequestError(409, 'conflict', `schedule ${id} is being changed concurrently; retry`);
  };
  app.post('/workflows/:name/schedules/:id/pause', toggle(false));
  app.post('/workflows/:name/schedules/:id/resume', toggle(true));

  app.get('/workflows/:name/schedules/:id/next', async (c) => {
    const s = await mustGet(c.req.param('name'), c.req.param('id'));
    const raw = c.req.query('count') ?? '5';
    const count = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(count >= 1 && count <= MAX_NEXT)) throw bad('invalid_query', 'count', `expected an integer from 1 to ${MAX_NEXT}`);
    const now = deps.now();
    const lower = s.start === undefined ? now : Math.max(now, s.start - 1);
    const times = nextFireTimes(s.spec, new Date(lower), count, s.end === undefined ? undefined : { until: new Date(s.end) });
    return c.json({
      scheduleId: s.scheduleId,
      enabled: s.enabled,
      timezone: s.timezone,
      fireTimes: times.map((t) => ({ utc: t.toISOString(), local: formatFireTime(t, s.timezone, 'local') })),
    });
  });

  app.post('/workflows/:name/backfills', async (c) => {
    const bcode = 'invalid_backfill';
    const workflow = c.req.param('name');
    const key = idempotencyKey(c.req.header('idempotency-key'));
    const body = await jsonObject(c.req.raw, bcode);
    unknownFields(body, BACKFILL_FIELDS, bcode);
    const start = instant(body, 'start', bcode);
    const end = instant(body, 'end', bcode);
    if (start === undefined) throw bad(bcode, 'start', 'required');
    if (end === undefined) throw bad(bcode, 'end', 'required');
    if (end < start) throw bad(bcode, 'end', 'must not be before start');
    if (end > deps.now()) throw bad(bcode, 'end', 'must not be in the future (a backfill runs past fire times)');
    let schedule: ScheduleItem | undefined;
    let spec: CronSpec;
    if (body.scheduleId !== undefined) {
      if (body.cron !== undefined || body.timezone !== undefined)
        throw bad(bcode, 'cron', 'give either scheduleId or cron (with timezone), not both');
      if (typeof body.scheduleId !== 'string') throw bad(bcode, 'scheduleId', `expected a string, got ${typeName(body.scheduleId)}`);
      schedule = await mustGet(workflow, body.scheduleId);
      spec = schedule.spec;
    } else {
      if (body.cron === undefined) throw bad(bcode, 'cron', 'required: give scheduleId, or cron (with timezone)');
      spec = cronOf(body, bcode);
    }
    const mode = body.mode ?? 'serial';
    if (mode !== 'serial' && mode !== 'parallel') throw bad(bcode, 'mode', 'expected serial or parallel');
    const parallelism = optionalInt(body, 'parallelism', bcode, 1, MAX_PARALLELISM);
    if (mode === 'serial' && parallelism !== undefined && parallelism !== 1) throw bad(bcode, 'parallelism', 'only with mode parallel');
    if (body.rerun !== undefined && typeof body.rerun !== 'boolean')
      throw bad(bcode, 'rerun', `expected a boolean, got ${typeName(body.rerun)}`);
    const version = optionalInt(body, 'version', bcode, 1, Number.MAX_SAFE_INTEGER) ?? schedule?.version;
    const params = body.params ?? schedule?.params ?? {};
    if (!isPlainObject(params)) throw bad(bcode, 'params', `expected an object, got ${typeName(params)}`);
    const def = await definitionFor(deps, workflow, version);
    const first = nextFireTimes(spec, new Date(start - 1), 1, { until: new Date(end) })[0];
    checkParams(bcode, def, params, spec, first?.getTime() ?? start, schedule?.scheduleId ?? 'backfill');
    const { backfill, created } = await startBackfill(deps, {
      workflow,
      ...(schedule && { scheduleId: schedule.scheduleId }),
      spec,
      start,
      end,
      mode,
      parallelism: parallelism ?? 2,
      rerun: body.rerun === true,
      params,
      version,
      idempotencyKey: key,
      requestDigest: digest({ workflow, body }),
      sourceKey: schedule ? scheduleRunKey(workflow, schedule.scheduleId) : `${workflow}/cron:${spec.expression}@${spec.timezone}`,
    });
    return c.json(backfillView(backfill), created ? 201 : 200);
  });

  app.get('/backfills/:id', async (c) => {
    const b = await getBackfill(deps.db, c.req.param('id'));
    if (!b) throw notFound(`backfill ${c.req.param('id')}`);
    return c.json(backfillView(b));
  });

  app.post('/backfills/:id/cancel', async (c) => c.json(backfillView(await cancelBackfill(deps, c.req.param('id')))));

  return app;
}
