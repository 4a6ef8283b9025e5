import { z } from 'zod';
import { notFound, RequestError } from '../common/errors.js';
import { digest } from '../common/ids.js';
import { resolveParams } from '../engine/definition/params.js';
import { PARAMS_LIMITS } from '../engine/limits.js';
import {
  type CronSpec,
  checkScheduleParams,
  formatFireTime,
  MISFIRE_POLICIES,
  nextFireTimes,
  parseCron,
  renderScheduleParams,
} from '../engine/schedule/index.js';
import { backfillView, cancelBackfill, MAX_PARALLELISM, startBackfill } from '../orchestrator/backfill.js';
import type { Deps } from '../orchestrator/deps.js';
import { putSchedule, setScheduleEnabled } from '../orchestrator/schedule-writes.js';
import { DEFAULT_MISFIRE_CAP, MAX_MISFIRE_CAP, nextFireAfter, scheduleRunKey } from '../orchestrator/scheduler.js';
import { getBackfill } from '../store/backfills.js';
import { type DefinitionItem, getDefinition, latestDefinition } from '../store/definitions.js';
import { deleteSchedule, getSchedule, listSchedules, type ScheduleFields, type ScheduleItem } from '../store/schedules.js';
import type { Routes } from './route.js';
import { entityId, idempotencyHeaders, limitedJson, positiveIntString, schedulePath, workflowPath } from './schemas.js';

/**
 * Schedules and backfills:
 * - `PUT/GET/DELETE /workflows/{name}/schedules/{id}`, `GET /workflows/{name}/schedules`,
 *   `POST .../schedules/{id}/pause`, `POST .../schedules/{id}/resume`,
 *   `GET .../schedules/{id}/next?count=5` (next fire times in the schedule's zone and in UTC);
 * - `POST /workflows/{name}/backfills` (Idempotency-Key honoured), `GET /backfills/{id}`,
 *   `POST /backfills/{id}/cancel`.
 * Every 400 names the offending field in `error.details[].path` (and in the message).
 */

const MAX_NEXT = 100;

const bad = (code: string, path: string, message: string) => new RequestError(400, code, `${path}: ${message}`, [{ path, message }]);

/** An empty body is `{}`; anything else must be a JSON object. */
const objectBody = <S extends z.ZodType>(schema: S) => z.preprocess((v) => v ?? {}, schema);
const BODY_OBJECT = { error: 'the body must be a JSON object' };

const instant = z
  .string({ error: 'expected an ISO-8601 date-time such as 2026-01-31T00:00:00Z' })
  .regex(/^\d{4}-\d{2}-\d{2}/, { error: 'expected an ISO-8601 date-time such as 2026-01-31T00:00:00Z' })
  .transform((v, ctx) => {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms;
    ctx.addIssue({ code: 'custom', message: `expected an ISO-8601 date-time such as 2026-01-31T00:00:00Z, got ${JSON.stringify(v)}` });
    return z.NEVER;
  })
  .nullish();
const intIn = (min: number, max: number) =>
  z
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` })
    .nullish();
const cron = z.string({ error: (i) => (i.input === undefined ? 'required' : 'expected a string') });
const timezone = z.string({ error: 'expected an IANA time zone name' }).optional();
/** Schedule params: values or `${schedule.*}` templates, within the run-params limits. */
const scheduleParams = limitedJson(PARAMS_LIMITS)
  .pipe(z.record(z.string(), z.unknown(), { error: 'expected an object' }))
  .optional();

/** `PUT /workflows/{name}/schedules/{id}`. */
export const scheduleBody = objectBody(
  z.strictObject(
    {
      cron,
      timezone,
      start: instant,
      end: instant,
      enabled: z.boolean({ error: 'expected a boolean' }).optional(),
      misfirePolicy: z.enum(MISFIRE_POLICIES, { error: `expected one of ${MISFIRE_POLICIES.join(', ')}` }).optional(),
      misfireCap: intIn(1, MAX_MISFIRE_CAP),
      params: scheduleParams,
      version: intIn(1, Number.MAX_SAFE_INTEGER),
    },
    BODY_OBJECT,
  ),
);

/** `POST /workflows/{name}/backfills`. */
export const backfillBody = objectBody(
  z.strictObject(
    {
      start: instant,
      end: instant,
      scheduleId: z.string({ error: 'expected a string' }).max(64).optional(),
      cron: cron.optional(),
      timezone,
      mode: z.enum(['serial', 'parallel'], { error: 'expected serial or parallel' }).optional(),
      parallelism: intIn(1, MAX_PARALLELISM),
      rerun: z.boolean({ error: 'expected a boolean' }).optional(),
      params: scheduleParams,
      version: intIn(1, Number.MAX_SAFE_INTEGER),
    },
    BODY_OBJECT,
  ),
);

function cronOf(code: string, expression: string, tz: string | undefined): CronSpec {
  const parsed = parseCron(expression, tz ?? 'UTC');
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

/** Registers the schedule and backfill routes. */
export function scheduleRoutes(routes: Routes, deps: Deps): void {
  const code = 'invalid_schedule';
  const mustGet = async (workflow: string, id: string) => {
    const s = await getSchedule(deps.db, workflow, id);
    if (!s) throw notFound(`schedule ${id} of workflow ${workflow}`);
    return s;
  };
  const view = { 200: 'the schedule' } as const;

  routes.add(
    {
      method: 'put',
      path: '/workflows/:name/schedules/:id',
      summary: 'Create or replace a schedule (replacing keeps its fire-time mark)',
      params: schedulePath,
      body: scheduleBody,
      bodyCode: code,
      responses: { 200: 'replaced', 201: 'created', 400: 'invalid schedule', 404: 'unknown workflow or version', 503: 'contention; retry' },
    },
    async (c, { params: { name: workflow, id: scheduleId }, body }) => {
      const spec = cronOf(code, body.cron, body.timezone);
      const start = body.start ?? undefined;
      const end = body.end ?? undefined;
      if (start !== undefined && end !== undefined && end < start) throw bad(code, 'end', 'must not be before start');
      const version = body.version ?? undefined;
      const params = body.params ?? {};
      const def = await definitionFor(deps, workflow, version);
      const now = deps.now();
      checkParams(code, def, params, spec, nextFireAfter(spec, now, start, end) ?? now, scheduleId);
      const fields: ScheduleFields = {
        workflow,
        scheduleId,
        cron: spec.expression,
        timezone: spec.timezone,
        spec,
        ...(start !== undefined && { start }),
        ...(end !== undefined && { end }),
        enabled: body.enabled !== false,
        misfirePolicy: body.misfirePolicy ?? 'skip',
        misfireCap: body.misfireCap ?? DEFAULT_MISFIRE_CAP,
        params,
        ...(version !== undefined && { version }),
      };
      // `enabled` left out keeps a paused schedule paused (pause/resume are the way to toggle it).
      const put = await putSchedule(deps, fields, body.enabled === undefined);
      return c.json(scheduleView(put.schedule), put.created ? 201 : 200);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/workflows/:name/schedules',
      summary: 'List the schedules of a workflow',
      params: workflowPath,
      responses: { 200: 'schedules' },
    },
    async (c, { params }) => c.json({ schedules: (await listSchedules(deps.db, params.name)).map(scheduleView) }),
  );

  routes.add(
    {
      method: 'get',
      path: '/workflows/:name/schedules/:id',
      summary: 'One schedule',
      params: schedulePath,
      responses: { ...view, 404: 'not found' },
    },
    async (c, { params }) => c.json(scheduleView(await mustGet(params.name, params.id))),
  );

  routes.add(
    {
      method: 'delete',
      path: '/workflows/:name/schedules/:id',
      summary: 'Delete a schedule',
      params: schedulePath,
      responses: { 204: 'deleted', 404: 'not found' },
    },
    async (c, { params: { name: workflow, id } }) => {
      if (!(await deleteSchedule(deps.db, workflow, id))) throw notFound(`schedule ${id} of workflow ${workflow}`);
      deps.log.info({ workflow, schedule: id }, 'schedule deleted');
      return c.body(null, 204);
    },
  );

  for (const [action, enabled] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    routes.add(
      {
        method: 'post',
        path: `/workflows/:name/schedules/:id/${action}`,
        summary: enabled ? 'Resume a schedule (missed fire times follow its misfire policy)' : 'Pause a schedule',
        params: schedulePath,
        responses: { ...view, 404: 'not found', 503: 'contention; retry' },
      },
      async (c, { params: { name: workflow, id } }) => {
        const s = await setScheduleEnabled(deps, workflow, id, enabled);
        if (!s) throw notFound(`schedule ${id} of workflow ${workflow}`);
        return c.json(scheduleView(s));
      },
    );
  }

  routes.add(
    {
      method: 'get',
      path: '/workflows/:name/schedules/:id/next',
      summary: 'The next fire times, in the schedule zone and in UTC',
      params: schedulePath,
      query: z.object({
        count: z.optional(positiveIntString.refine((n) => n <= MAX_NEXT, { error: `expected an integer from 1 to ${MAX_NEXT}` })),
      }),
      responses: { 200: 'fire times', 404: 'not found' },
    },
    async (c, { params, query }) => {
      const s = await mustGet(params.name, params.id);
      const count = query.count ?? 5;
      const now = deps.now();
      const lower = s.start === undefined ? now : Math.max(now, s.start - 1);
      const times = nextFireTimes(s.spec, new Date(lower), count, s.end === undefined ? undefined : { until: new Date(s.end) });
      return c.json({
        scheduleId: s.scheduleId,
        enabled: s.enabled,
        timezone: s.timezone,
        fireTimes: times.map((t) => ({ utc: t.toISOString(), local: formatFireTime(t, s.timezone, 'local') })),
      });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/workflows/:name/backfills',
      summary: 'Start a backfill over past fire times (Idempotency-Key honoured)',
      params: workflowPath,
      headers: idempotencyHeaders,
      body: backfillBody,
      bodyCode: 'invalid_backfill',
      responses: { 200: 'the backfill this key made before', 201: 'created', 400: 'invalid backfill', 404: 'unknown workflow or schedule' },
    },
    async (c, { params: { name: workflow }, headers, body }) => {
      const bcode = 'invalid_backfill';
      const start = body.start ?? undefined;
      const end = body.end ?? undefined;
      if (start === undefined) throw bad(bcode, 'start', 'required');
      if (end === undefined) throw bad(bcode, 'end', 'required');
      if (end < start) throw bad(bcode, 'end', 'must not be before start');
      if (end > deps.now()) throw bad(bcode, 'end', 'must not be in the future (a backfill runs past fire times)');
      let schedule: ScheduleItem | undefined;
      let spec: CronSpec;
      if (body.scheduleId !== undefined) {
        if (body.cron !== undefined || body.timezone !== undefined)
          throw bad(bcode, 'cron', 'give either scheduleId or cron (with timezone), not both');
        schedule = await mustGet(workflow, body.scheduleId);
        spec = schedule.spec;
      } else {
        if (body.cron === undefined) throw bad(bcode, 'cron', 'required: give scheduleId, or cron (with timezone)');
        spec = cronOf(bcode, body.cron, body.timezone);
      }
      const mode = body.mode ?? 'serial';
      const parallelism = body.parallelism ?? undefined;
      if (mode === 'serial' && parallelism !== undefined && parallelism !== 1) throw bad(bcode, 'parallelism', 'only with mode parallel');
      const version = body.version ?? schedule?.version;
      const params = body.params ?? schedule?.params ?? {};
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
        idempotencyKey: headers['idempotency-key'],
        requestDigest: digest({ workflow, body }),
        sourceKey: schedule ? scheduleRunKey(workflow, schedule.scheduleId) : `${workflow}/cron:${spec.expression}@${spec.timezone}`,
      });
      return c.json(backfillView(backfill), created ? 201 : 200);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/backfills/:id',
      summary: 'One backfill',
      params: z.object({ id: entityId }),
      responses: { 200: 'the backfill', 404: 'not found' },
    },
    async (c, { params }) => {
      const b = await getBackfill(deps.db, params.id);
      if (!b) throw notFound(`backfill ${params.id}`);
      return c.json(backfillView(b));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/backfills/:id/cancel',
      summary: 'Cancel a backfill (runs already started finish)',
      params: z.object({ id: entityId }),
      responses: { 200: 'the backfill', 404: 'not found' },
    },
    async (c, { params }) => c.json(backfillView(await cancelBackfill(deps, params.id))),
  );
}
