import { z } from 'zod';
import { RequestError } from '../common/errors.js';
import { OUTPUT_LIMITS } from '../engine/limits.js';
import type { Deps } from '../orchestrator/deps.js';
import { completeTask } from '../orchestrator/operations/complete.js';
import { pause, resume } from '../orchestrator/operations/pause.js';
import { recover } from '../orchestrator/operations/recover.js';
import { rerun } from '../orchestrator/operations/rerun.js';
import type { Routes } from './route.js';
import { entityId, idempotencyHeaders, limitedJson, runPath } from './schemas.js';

const taskName = z.string().min(1).max(256);
const recoverBody = z.strictObject({ tasks: z.array(taskName).min(1).max(1000).optional() }).optional();
const completeBody = z.strictObject(
  { output: limitedJson(OUTPUT_LIMITS) },
  { error: 'the body must be a JSON object such as {"output": ...}' },
);
const taskPath = z.object({ runId: entityId, task: taskName });

/**
 * Day-2 operations on a run: pause, resume, recover, rerun, and mark success on a task. Each is a
 * conditional transition (see `orchestrator/operations`); cancel stays in app.ts.
 */
export function operationRoutes(routes: Routes, deps: Deps): void {
  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/pause',
      summary: 'Pause a run: running attempts finish, nothing new is claimed (answers BATON_CLAIM_WINDOW_MS after the pause)',
      params: runPath,
      responses: { 202: 'paused', 404: 'not found', 409: 'not running' },
    },
    async (c, { params: { runId } }) => {
      const run = await pause(deps, runId);
      return c.json({ runId: run.runId, status: run.status }, 202);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/resume',
      summary: 'Resume a paused run; work that became ready meanwhile is queued',
      params: runPath,
      responses: { 202: 'running', 404: 'not found', 409: 'not paused' },
    },
    async (c, { params: { runId } }) => {
      const run = await resume(deps, runId);
      return c.json({ runId: run.runId, status: run.status }, 202);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/recover',
      summary: 'Run failed, cancelled or named tasks and their downstream again, in the same run',
      params: runPath,
      headers: idempotencyHeaders,
      body: recoverBody,
      responses: { 202: 'recovering', 400: 'invalid body', 404: 'not found', 409: 'cannot recover now' },
    },
    async (c, { params: { runId }, headers, body }) => {
      const run = await recover(deps, runId, { tasks: body?.tasks, idempotencyKey: headers['idempotency-key'] });
      return c.json({ runId: run.runId, status: run.status, recoveries: run.recoveries, tasks: run.recovery?.tasks }, 202);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/rerun',
      summary: 'Start a new run of the same workflow version with the same params',
      params: runPath,
      responses: { 201: 'started', 404: 'not found' },
    },
    async (c, { params: { runId } }) => {
      const started = await rerun(deps, runId);
      return c.json({ runId: started.runId, version: started.version }, 201);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/runs/:runId/tasks/:task/complete',
      summary: 'Mark a task succeeded with the given output (a running attempt is fenced out)',
      params: taskPath,
      body: completeBody,
      responses: { 200: 'marked', 400: 'invalid body', 404: 'not found', 409: 'not allowed in this state' },
    },
    async (c, { params: { runId, task }, body }) => {
      if (body.output === undefined)
        throw new RequestError(400, 'invalid_body', 'output is required', [{ path: 'output', message: 'required' }]);
      const t = await completeTask(deps, runId, task, body.output);
      return c.json({ runId: t.runId, task: t.name, status: t.status, attempt: t.attempt, output: t.output }, 200);
    },
  );
}
