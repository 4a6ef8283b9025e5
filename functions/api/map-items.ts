import { z } from 'zod';
import { notFound, RequestError } from '../common/errors.js';
import { NAME_PATTERN } from '../engine/definition/schema.js';
import type { Deps } from '../orchestrator/deps.js';
import { progressOf } from '../orchestrator/map-operations.js';
import { loadWorkflow } from '../orchestrator/workflows.js';
import { getControl, listItems, type MapItem } from '../store/map-items.js';
import { getRun } from '../store/runs.js';
import { getTask } from '../store/tasks.js';
import type { Routes } from './route.js';
import { entityId } from './schemas.js';

/** Most items one page of `GET /runs/{id}/tasks/{task}/items` returns. */
export const MAX_ITEMS_PAGE = 500;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const index = z
  .string()
  .regex(/^\d{1,6}$/, { error: 'expected an item index (a non-negative integer)' })
  .transform(Number);

const itemsQuery = z.object({
  /** The `cursor` of the previous page: the index to continue after. */
  cursor: index.optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { error: 'expected a positive integer' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_ITEMS_PAGE, { error: `expected 1 to ${MAX_ITEMS_PAGE}` })
    .optional(),
  /** The map task's attempt (default: its current one); each attempt of a map has its own items. */
  attempt: index.optional(),
});

const itemView = (i: MapItem) => ({
  index: i.index,
  task: i.name,
  status: i.status,
  attempt: i.attempt,
  item: i.item,
  queuedAt: iso(i.queuedAt),
  startedAt: iso(i.startedAt),
  endedAt: iso(i.endedAt),
  worker: i.owner,
  output: i.output,
  error: i.error,
  /** Kept from this map attempt (a recovered map does not run an item that succeeded). */
  carried: i.carried,
  attempts: (i.attempts ?? []).map((a) => ({ ...a, startedAt: iso(a.startedAt), endedAt: iso(a.endedAt) })),
});

/** `GET /runs/{id}/tasks/{task}/items`: a map's items page by page, in item order, with its progress. */
export function mapItemRoutes(routes: Routes, deps: Deps): void {
  routes.add(
    {
      method: 'get',
      path: '/runs/:runId/tasks/:task/items',
      summary: "A map task's items, in item order, a page at a time (cursor: the last index of the previous page)",
      params: z.object({ runId: entityId, task: z.string().regex(NAME_PATTERN, { error: 'invalid task name' }) }),
      query: itemsQuery,
      responses: { 200: 'a page of items', 400: 'not a map task, or a bad query', 404: 'not found' },
    },
    async (c, { params: { runId, task }, query }) => {
      const run = await getRun(deps.db, runId);
      if (!run) throw notFound(`run ${runId}`);
      const wf = await loadWorkflow(deps.db, run.workflow, run.version);
      const spec = wf.definition.tasks[task];
      if (!spec) throw notFound(`task ${task} in run ${runId}`);
      if (spec.type !== 'map') throw new RequestError(400, 'not_a_map', `task ${task} is a ${spec.type} task, not a map`);
      const attempt = query.attempt ?? (await getTask(deps.db, runId, task))?.attempt ?? 0;
      const limit = query.limit ?? 100;
      const [ctl, page] = await Promise.all([
        getControl(deps.db, runId, task, attempt),
        listItems(deps.db, runId, task, attempt, { limit, after: query.cursor }),
      ]);
      const last = page.items[page.items.length - 1];
      return c.json({
        runId,
        task,
        attempt,
        progress: ctl ? progressOf(ctl) : undefined,
        items: page.items.map(itemView),
        cursor: page.more && last ? String(last.index) : undefined,
      });
    },
  );
}
