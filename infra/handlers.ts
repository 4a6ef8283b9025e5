import { Duration } from 'aws-cdk-lib';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import { TABLE } from '../functions/store/table.js';
import { MASTER_STREAM_FILTERS } from './stream-filter.js';
import type { TableGrant } from './table-access.js';

/** What invokes a function. The `Baton` construct wires each kind once. */
export type Trigger =
  /** API Gateway HTTP API: every route (the callback route without authorization, see `http-api.ts`). */
  | { readonly type: 'http' }
  /** The table's stream, with Lambda-side filters. */
  | { readonly type: 'stream'; readonly filters: ReadonlyArray<Record<string, unknown>> }
  /** Asynchronous invocations by the functions that dispatch work (this is the worker). */
  | { readonly type: 'dispatch' }
  /** The timer queue (SQS messages with a delivery delay). */
  | { readonly type: 'timers' }
  /** An EventBridge schedule. */
  | { readonly type: 'schedule'; readonly every: Duration }
  /** An EventBridge rule on the default bus. */
  | { readonly type: 'events'; readonly pattern: EventPattern };

/** One Lambda function of Baton: its handler file, size, permissions and trigger. */
export interface HandlerSpec {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Exactly the table access the handler's code uses. */
  readonly table: readonly TableGrant[];
  /** Dispatches task attempts: gets `BATON_WORKER_FUNCTION` and `lambda:InvokeFunction` on the worker. */
  readonly dispatches?: boolean;
  /** Asks for wake-ups: gets `BATON_TIMER_QUEUE_URL` and `sqs:SendMessage` on the timer queue. */
  readonly sendsTimers?: boolean;
  /** Posts webhook deliveries (`fireDue` → `deliverNow`): gets the egress policy's environment, as the worker. */
  readonly deliversWebhooks?: boolean;
  readonly trigger: Trigger;
}

/**
 * The table's partitions, by the first part of their key (see `functions/store/`): definitions
 * (immutable versions), the workflow list, runs (with their tasks, joins, child links and callback
 * tokens, webhook deliveries and run clocks), schedules, backfills, per-workflow concurrency gates,
 * the waiters of `dependent` tasks filed under the workflow they wait for, pools (one semaphore item
 * each, `functions/store/pools.ts`) and their name registry, and the master's parked stream records
 * (`functions/store/parked.ts`). `MEMBERS` (`functions/store/members.ts`) is the local runtime's
 * membership, used by no Lambda function, so no role is granted it.
 */
const P = {
  definitions: 'DEF#*',
  workflows: 'WORKFLOWS',
  runs: 'RUN#*',
  schedules: 'SCHED#*',
  backfills: 'BACKFILL#*',
  gates: 'CONC#*',
  waiters: 'DEPWAIT#*',
  pools: 'POOL#*',
  poolNames: 'POOLS',
  parked: 'PARKED',
} as const;

/**
 * The Step Functions execution statuses `onExecutionStatusChange` (`functions/orchestrator/callback.ts`)
 * acts on: the terminal ones. Other events (`RUNNING`, `PENDING_REDRIVE`) would only cost an
 * invocation that ignores them, so the rule drops them. `test/infra/stack.test.ts` checks this list
 * against the handler.
 */
export const TERMINAL_EXECUTION_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/**
 * Every function, keyed by its file in `functions/handlers/`. Adding a handler is one entry here:
 * the construct derives its function, permissions, environment, trigger and alarms from it.
 *
 * Grants are per partition family and action, from what each handler's code paths do. When the
 * engine gains an access path, the entry of every handler that reaches it changes with it; the
 * bundle test checks the calls it makes against these grants.
 */
export const HANDLERS = {
  api: {
    description: 'Baton HTTP API: definitions, runs, schedules, backfills, callbacks',
    memorySize: 512,
    timeout: Duration.seconds(29),
    // Callbacks wake waiting attempts and dispatch them; a new run's roots are queued and dispatched by the
    // API that creates it (inline start, functions/orchestrator/run-start.ts), which also arms the run's clock.
    dispatches: true,
    sendsTimers: true,
    table: [
      { actions: ['GetItem', 'Query'], partitions: [P.definitions, P.workflows, P.runs, P.schedules, P.backfills] },
      { actions: ['PutItem'], partitions: [P.definitions, P.runs, P.schedules, P.backfills] },
      { actions: ['UpdateItem'], partitions: [P.workflows, P.runs, P.schedules, P.backfills] },
      { actions: ['DeleteItem'], partitions: [P.schedules] },
      // Pool routes: `PUT /pools/{name}` sizes the pool item and records its name (`putPool`), then wakes
      // its line (`pumpPool`: read, grant or drop entries); the reads list the names and read each pool.
      { actions: ['GetItem', 'UpdateItem'], partitions: [P.pools] },
      { actions: ['Query', 'UpdateItem'], partitions: [P.poolNames] },
      { queryIndex: TABLE.runsIndex },
    ],
    trigger: { type: 'http' },
  },
  master: {
    description: 'Baton master: advances runs on table stream events',
    memorySize: 512,
    timeout: Duration.seconds(60),
    dispatches: true,
    sendsTimers: true,
    // A run end reads the waiters of its workflow, wakes those it satisfies and removes those that are over.
    table: [
      { actions: ['GetItem', 'Query'], partitions: [P.definitions, P.runs, P.backfills, P.gates, P.waiters] },
      { actions: ['PutItem'], partitions: [P.runs] },
      { actions: ['UpdateItem'], partitions: [P.runs, P.backfills, P.gates] },
      { actions: ['DeleteItem'], partitions: [P.waiters] },
      // A record that keeps failing is counted, then parked (`handleRecord`, functions/orchestrator/poison.ts).
      { actions: ['UpdateItem'], partitions: [P.parked] },
      // A cancelled or timed-out run gives back the pool slots of its ended attempts and wakes each
      // pool's line (`freeRunSlots`, functions/orchestrator/pools.ts).
      { actions: ['GetItem', 'UpdateItem'], partitions: [P.pools] },
    ],
    trigger: { type: 'stream', filters: MASTER_STREAM_FILTERS },
  },
  worker: {
    description: 'Baton worker: runs one task attempt under a lease',
    memorySize: 512,
    timeout: Duration.minutes(15),
    sendsTimers: true,
    // Reads its run and the pinned definition; a sub-workflow task creates its child run and link; a
    // dependent task looks up another workflow's runs (the runs index) and files or removes its waiter.
    table: [
      { actions: ['GetItem', 'Query'], partitions: [P.definitions, P.runs] },
      { actions: ['PutItem', 'UpdateItem'], partitions: [P.runs] },
      { actions: ['PutItem', 'DeleteItem'], partitions: [P.waiters] },
      // A `pool:` task's gate (read the pool; take slots, or join the line) and, once it ends, the release
      // and the pump that grants the freed slots to the line (functions/orchestrator/pools.ts).
      { actions: ['GetItem', 'UpdateItem'], partitions: [P.pools] },
      { queryIndex: TABLE.runsIndex },
    ],
    trigger: { type: 'dispatch' },
  },
  sweeper: {
    description: 'Baton sweeper: reclaims expired leases and re-drives stalled runs, schedules and backfills',
    memorySize: 256,
    timeout: Duration.seconds(30),
    dispatches: true,
    sendsTimers: true,
    // A due webhook delivery is retried here when its timer message was lost.
    deliversWebhooks: true,
    table: [
      { queryIndex: TABLE.dueIndex },
      { actions: ['GetItem', 'Query'], partitions: [P.definitions, P.runs, P.schedules, P.backfills, P.gates] },
      { actions: ['PutItem'], partitions: [P.runs] },
      { actions: ['UpdateItem'], partitions: [P.runs, P.schedules, P.backfills, P.gates] },
      // A due pool item is checked (`checkPool`: free the slots of ended attempts, pump, reschedule); an
      // attempt the sweeper ends (timed out, or lost too often) gives its slots back (`releaseEnded`).
      { actions: ['GetItem', 'UpdateItem'], partitions: [P.pools] },
    ],
    trigger: { type: 'schedule', every: Duration.minutes(1) },
  },
  timer: {
    description: 'Baton timer: wakes the item a delayed message names',
    memorySize: 256,
    timeout: Duration.seconds(30),
    dispatches: true,
    sendsTimers: true,
    // Webhook deliveries are posted here: the master queues each one as a timer message.
    deliversWebhooks: true,
    // The same due-item handling as the sweeper (`fireDue`), for one item at a time, without the index
    // scan: a task it ends gives its pool slots back, as in the sweeper.
    table: [
      { actions: ['GetItem', 'Query'], partitions: [P.definitions, P.runs, P.schedules, P.backfills, P.gates] },
      { actions: ['PutItem'], partitions: [P.runs] },
      { actions: ['UpdateItem'], partitions: [P.runs, P.schedules, P.backfills, P.gates] },
      { actions: ['GetItem', 'UpdateItem'], partitions: [P.pools] },
    ],
    trigger: { type: 'timers' },
  },
  scheduler: {
    description: 'Baton scheduler: fires due cron schedules',
    memorySize: 256,
    timeout: Duration.seconds(60),
    // Fire times inside the coming minute go to the timer queue; the timer function fires them.
    sendsTimers: true,
    // `schedulerTick`: the due index, filtered to `SCHED#` keys; per due schedule, read it
    // (`fireSchedule`), resolve its definition (`getDefinition` by key, or `latestDefinition`, a
    // Query), create the run (conditional put; a repeated tick reads the existing run instead) and
    // advance the schedule. Concurrency gates and backfills are not its business: the master admits
    // the run it created, and backfills are driven by the API, the master and the sweeper.
    table: [
      { queryIndex: TABLE.dueIndex },
      { actions: ['GetItem'], partitions: [P.definitions, P.runs, P.schedules] },
      { actions: ['Query'], partitions: [P.definitions] },
      { actions: ['PutItem'], partitions: [P.runs] },
      { actions: ['UpdateItem'], partitions: [P.schedules] },
    ],
    trigger: { type: 'schedule', every: Duration.minutes(1) },
  },
  'sfn-events': {
    description: 'Baton sfn-events: wakes stepfunctions tasks when their execution ends',
    memorySize: 256,
    timeout: Duration.seconds(30),
    // A woken attempt is dispatched to a worker at once.
    dispatches: true,
    // `onExecutionStatusChange`: the task the execution name points at (`getTask`), tasks of a
    // truncated name (`tasksByPrefix`, a Query of the run's partition), then one conditional update
    // (`wakeForExecution`, or `requestWake` while the attempt is still running).
    table: [{ actions: ['GetItem', 'Query', 'UpdateItem'], partitions: [P.runs] }],
    trigger: {
      type: 'events',
      pattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...TERMINAL_EXECUTION_STATUSES] },
      },
    },
  },
} as const satisfies Record<string, HandlerSpec>;

export type HandlerName = keyof typeof HANDLERS;
