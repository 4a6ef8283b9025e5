import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { TERMINAL_RUN, TERMINAL_TASK } from '../functions/store/items.js';

const run = (status: string[]) => ({ kind: { S: FilterRule.isEqual('run') }, status: { S: status } });

/**
 * The table stream records the master reacts to (`functions/orchestrator/stream.ts`), and no others:
 * a run that became `queued` (created so, or admitted from `pending` by its workflow's concurrency
 * gate), a run created `running`, a run that became terminal, a run that became running again (resumed or recovered), a task
 * that became terminal, a run that started or paused, a run clock marked sla_missed, a task attempt that
 * failed and waits for its retry. Everything else (claims, heartbeats, due-time changes, definitions,
 * schedules) is dropped by Lambda before it costs an invocation. The status sets come from the engine, so a new terminal status cannot be missed.
 */
export const MASTER_STREAM_FILTERS: ReadonlyArray<Record<string, unknown>> = [
  // A run created queued (its concurrency gate admits it) or running (nothing gates it: its creation is its start).
  FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT'), dynamodb: { NewImage: run(FilterRule.or('queued', 'running')) } }),
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: { NewImage: run(FilterRule.isEqual('queued')), OldImage: { status: { S: [{ 'anything-but': ['queued'] }] } } },
  }),
  FilterCriteria.filter({ dynamodb: { NewImage: run(FilterRule.or(...TERMINAL_RUN)) } }),
  // A run resumed (its held attempts are released) or recovered (its recovery is carried out).
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: { NewImage: run(FilterRule.isEqual('running')), OldImage: { status: { S: FilterRule.or('paused', ...TERMINAL_RUN) } } },
  }),
  FilterCriteria.filter({
    dynamodb: { NewImage: { kind: { S: FilterRule.isEqual('task') }, status: { S: FilterRule.or(...TERMINAL_TASK) } } },
  }),
  // Events (orchestrator/events): a run started (which also arms its timeout and sla clock) or paused,
  // and a run clock marked sla_missed.
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: { NewImage: run(FilterRule.isEqual('running')), OldImage: { status: { S: FilterRule.isEqual('queued') } } },
  }),
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: { NewImage: run(FilterRule.isEqual('paused')), OldImage: { status: { S: FilterRule.isEqual('running') } } },
  }),
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: { NewImage: { kind: { S: FilterRule.isEqual('clock') }, status: { S: FilterRule.isEqual('sla_missed') } } },
  }),
  // A failed attempt that will be retried (the `task_retrying` event).
  FilterCriteria.filter({
    eventName: FilterRule.isEqual('MODIFY'),
    dynamodb: {
      NewImage: {
        kind: { S: FilterRule.isEqual('task') },
        status: { S: FilterRule.isEqual('waiting') },
        wake: { S: FilterRule.isEqual('retry') },
      },
      OldImage: { status: { S: FilterRule.isEqual('running') } },
    },
  }),
];
