/**
 * The AWS latency model: what one chain step would cost in AWS, from the hops the bench counts on
 * the local run. Where AWS documents a figure, it is quoted with its page; where it documents none,
 * the constant is an assumption, marked `documented: false`, with what it rests on. Change them to
 * your own measurements (CloudWatch `IteratorAge`, X-Ray traces).
 */

export interface LatencyConstant {
  readonly ms: number;
  readonly documented: boolean;
  readonly source: string;
  readonly note: string;
}

/**
 * One DynamoDB Streams hop to the master: the Lambda event source mapping polls each shard "at a
 * base rate of 4 times per second", so a record waits 125 ms on average (half the 250 ms interval)
 * before the master function is even invoked.
 */
export const STREAM_HOP: LatencyConstant = {
  ms: 125,
  documented: true,
  source: 'https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (Polling and batching streams)',
  note: 'polled 4×/s: mean wait half of 250 ms; the synchronous invoke of the master is not added',
};

/**
 * One asynchronous Lambda invocation of the worker, from the Invoke call to the handler starting in a
 * warm execution environment. AWS documents the mechanism (the event is queued, "a separate process
 * reads events from the queue and sends them to your function") but no latency figure.
 */
export const LAMBDA_ASYNC_INVOKE: LatencyConstant = {
  ms: 30,
  documented: false,
  source: 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html (mechanism only, no figure)',
  note: 'assumed: tens of ms for a warm function; a cold start adds hundreds of ms (init duration)',
};

/** One DynamoDB request in-region: AWS describes DynamoDB as delivering "single-digit millisecond performance at any scale". */
export const DYNAMODB_REQUEST: LatencyConstant = {
  ms: 5,
  documented: true,
  source: 'https://aws.amazon.com/dynamodb/ and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html',
  note: '"single-digit millisecond": the middle of 1–9 ms',
};

/**
 * Step Functions Standard, one state transition. AWS documents the price per transition and the
 * transition quotas (a token bucket per account and Region), not a latency.
 */
export const SFN_STANDARD_TRANSITION: LatencyConstant = {
  ms: 50,
  documented: false,
  source:
    'https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html and https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (no latency figure)',
  note: 'assumed: tens of ms per transition of a durable, checkpointed Standard execution',
};

/** What the bench counted for the steps of a chain (per step, averaged over the chain's steps). */
export interface CountedHops {
  /** Steps whose task the master queued after a stream record (or an actor that did not say: a stream hop). */
  readonly streamHopsPerStep: number;
  /** Asynchronous worker invocations per step (a step queued by the master or sweeper is dispatched by one). */
  readonly invokesPerStep: number;
  /** DynamoDB requests of the engine per task, counted on the wire: an upper bound of those in sequence on the critical path. */
  readonly dynamodbRequestsPerStep: number;
  /** Steps queued by each actor, as the task items record it (`promotedBy`; absent counts as `master`). */
  readonly byActor: Record<string, number>;
  /**
   * The run's start (its creation → its first task queued), not a step: who queued the first task
   * (`creator`: the API that created the run, inline start; `master`: from the creation's stream record, a
   * stream hop), and the stream hops per start. Either way one invoke dispatches the worker.
   */
  readonly start?: { readonly byActor: Record<string, number>; readonly streamHops: number };
}

export interface ModelledStep {
  readonly hops: CountedHops;
  /** Baton in AWS, one chain step: stream hops + invokes + DynamoDB requests, each times its constant. */
  readonly batonMs: number;
  readonly batonParts: { stream: number; invoke: number; dynamodb: number };
  /** Step Functions Standard, one step of a chain of Task states that each invoke a Lambda function: one transition + one invoke. */
  readonly sfnStandardMs: number;
  readonly constants: Record<string, LatencyConstant>;
}

/** The modelled AWS critical path of one chain step, Baton beside Step Functions Standard. */
export function modelStep(hops: CountedHops): ModelledStep {
  const stream = hops.streamHopsPerStep * STREAM_HOP.ms;
  const invoke = hops.invokesPerStep * LAMBDA_ASYNC_INVOKE.ms;
  const dynamodb = hops.dynamodbRequestsPerStep * DYNAMODB_REQUEST.ms;
  return {
    hops,
    batonMs: stream + invoke + dynamodb,
    batonParts: { stream, invoke, dynamodb },
    sfnStandardMs: SFN_STANDARD_TRANSITION.ms + LAMBDA_ASYNC_INVOKE.ms,
    constants: { STREAM_HOP, LAMBDA_ASYNC_INVOKE, DYNAMODB_REQUEST, SFN_STANDARD_TRANSITION },
  };
}

/**
 * Counts the hops of a chain's steps from its task items (in chain order). The first task is queued
 * by the run's start, not by a step, so it is counted apart (`start`). A step queued by the worker that
 * ended the previous task (inline advance) costs no stream hop and no invoke when the worker also ran it
 * (eager dispatch); one queued by the master costs a stream hop and an invoke; one queued by the
 * sweeper costs an invoke (and the sweeper's wait, not modelled).
 */
export function countChainHops(items: readonly Record<string, unknown>[], engineRequestsPerTask: number): CountedHops {
  const steps = items.slice(1);
  const byActor: Record<string, number> = {};
  let stream = 0;
  let invokes = 0;
  for (const t of steps) {
    const actor = actorOf(t);
    byActor[actor] = (byActor[actor] ?? 0) + 1;
    if (actor === 'master') stream++;
    // A step the worker queued but did not run itself (its eager budget was spent) was dispatched: an invoke.
    if (actor !== 'worker' || t.eager !== true) invokes++;
  }
  const n = Math.max(1, steps.length);
  const starter = items[0] && actorOf(items[0]);
  const start = starter ? { byActor: { [starter]: 1 }, streamHops: starter === 'master' ? 1 : 0 } : undefined;
  return {
    streamHopsPerStep: stream / n,
    invokesPerStep: invokes / n,
    dynamodbRequestsPerStep: engineRequestsPerTask,
    byActor,
    ...(start && { start }),
  };
}

/** Who queued a task (`promotedBy`); an item without the field counts as the master (a stream hop). */
const actorOf = (t: Record<string, unknown>): string => (typeof t.promotedBy === 'string' ? t.promotedBy : 'master');

/** The modelled AWS time from a run's creation to its first task's dispatch: its stream hops, then one invoke. */
export function modelStart(start: NonNullable<CountedHops['start']>): number {
  return start.streamHops * STREAM_HOP.ms + LAMBDA_ASYNC_INVOKE.ms;
}
