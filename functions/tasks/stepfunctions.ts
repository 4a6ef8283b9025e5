import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { parseDuration } from '../engine/definition/duration.js';
import type { FailureReason } from '../engine/failure-reason.js';
import { abortReason, Cancelled, LeaseLost } from './abort.js';
import { type AwsClients, classifyAwsError } from './aws-clients.js';
import { type ExecContext, type Executor, type Outcome, templated } from './executor.js';

/** Standard state machine ARN, optionally qualified by a version or alias. */
export const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_$.-]{1,128})?$/;
/** Largest execution input Step Functions accepts (256 KiB, UTF-8). */
export const MAX_INPUT_BYTES = 256 * 1024;
export const DEFAULT_POLL_MS = 60_000;
const MIN_POLL_MS = 1_000;
/** While a status check cannot get through (throttled, network), look again this soon. */
const RETRY_CHECK_MS = 5_000;

const duration = z.union([z.string(), z.number()]).refine((d) => (parseDuration(d) ?? 0) >= MIN_POLL_MS, {
  message: 'a duration of at least 1s, such as 30s or 5m',
});

const schema = z
  .object({
    stateMachine: templated(
      z.string().regex(STATE_MACHINE_ARN, 'a state machine ARN such as arn:aws:states:us-east-1:123456789012:stateMachine:my-machine'),
    ),
    /** The execution's input (JSON); `{}` when absent. */
    input: z.unknown().optional(),
    /** How often a waiting attempt checks the execution when no status-change event arrives. */
    pollInterval: templated(duration).optional(),
  })
  .strict();

export type StepFunctionsConfig = z.infer<typeof schema>;

/** Saved on the waiting attempt. */
export interface SfnState {
  readonly executionArn: string;
}

const ACTIVE = new Set(['RUNNING', 'PENDING_REDRIVE']);
/** The reason each way an execution can end other than success (an unknown status counts as failed). */
const ENDED: Readonly<Record<string, FailureReason>> = {
  FAILED: 'execution_failed',
  TIMED_OUT: 'execution_timed_out',
  ABORTED: 'execution_aborted',
};
const PERMANENT = new Set([
  'InvalidArn',
  'InvalidName',
  'InvalidExecutionInput',
  'StateMachineDoesNotExist',
  'StateMachineDeleting',
  'ValidationException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'KmsAccessDeniedException',
  'KmsInvalidStateException',
  'ExecutionDoesNotExist',
]);

/**
 * Starts a Step Functions (Standard) execution and awaits it durably. The execution name is derived
 * from run, task and attempt, so a repeated StartExecution names the same execution: Step Functions
 * returns it (same input, still running) or answers ExecutionAlreadyExists, and the attempt adopts it.
 * A failover keeps the attempt (and its number), so a new holder of an attempt whose start was not
 * recorded starts under the same name and adopts the execution. The attempt then suspends; a status-change event (handlers/sfn-events.ts) or the poll interval
 * resumes it, and it reads the execution's status. Timing out stops the execution.
 */
export const stepfunctions: Executor<StepFunctionsConfig> = {
  type: 'stepfunctions',
  schema,
  async execute(ctx): Promise<Outcome> {
    const known = (ctx.state as Partial<SfnState> | undefined)?.executionArn;
    let arn = known;
    let outcome: Outcome;
    try {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (arn) {
        outcome = await check(ctx, arn);
      } else {
        const r = await begin(ctx);
        arn = r.executionArn;
        outcome = r.outcome;
      }
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
      outcome = { status: 'failed', reason: 'aborted', message: String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason) };
      // A start that was in flight may have gone through: its name is known, so its ARN is too.
      arn ??= executionArn(ctx.config.stateMachine, executionName(ctx.runId, ctx.task, ctx.attempt));
    }
    if (ctx.signal.aborted && outcome.status !== 'succeeded' && arn && !leaseLost(ctx.signal)) {
      if (abortReason(ctx.signal) instanceof Cancelled) {
        await stop(ctx.aws, arn, `Baton task ${ctx.task} (run ${ctx.runId}, attempt ${ctx.attempt}) was cancelled`, 'Baton.Cancelled');
        return { status: 'failed', reason: 'cancelled', message: `attempt cancelled; execution ${arn} stopped`, retryable: false };
      }
      await stop(ctx.aws, arn, `Baton task ${ctx.task} (run ${ctx.runId}, attempt ${ctx.attempt}) timed out`);
      return { status: 'failed', reason: 'timeout', message: `attempt timed out; execution ${arn} stopped` };
    }
    return outcome;
  },
  async cancel(ctx) {
    // A waiting attempt's execution runs on without it: stop it (the attempt's own, named by its state).
    const arn = (ctx.state as Partial<SfnState> | undefined)?.executionArn;
    if (arn) await stop(ctx.aws, arn, `Baton run ${ctx.runId} was cancelled (task ${ctx.task}, attempt ${ctx.attempt})`, 'Baton.Cancelled');
  },
};

/** A fresh attempt: start (or adopt) this attempt's own execution. */
async function begin(ctx: ExecContext<StepFunctionsConfig>): Promise<{ executionArn?: string; outcome: Outcome }> {
  const { config, signal } = ctx;
  const input = config.input === undefined ? '{}' : JSON.stringify(config.input);
  const size = Buffer.byteLength(input);
  if (size > MAX_INPUT_BYTES) {
    return {
      outcome: {
        status: 'failed',
        reason: 'input_too_large',
        message: `execution input is ${size} bytes; Step Functions accepts at most ${MAX_INPUT_BYTES}`,
        retryable: false,
      },
    };
  }
  if (ctx.attempt > 1) await stopPredecessor(ctx);
  const name = executionName(ctx.runId, ctx.task, ctx.attempt);
  try {
    const r = await ctx.aws.sfn.send(new StartExecutionCommand({ stateMachineArn: config.stateMachine, name, input }), {
      abortSignal: signal,
    });
    const arn = r.executionArn as string;
    if (arn.includes(':express:')) {
      return {
        executionArn: undefined,
        outcome: {
          status: 'failed',
          reason: 'unsupported',
          message: `${config.stateMachine} is an Express state machine; the stepfunctions task type awaits Standard executions only`,
          retryable: false,
        },
      };
    }
    return { executionArn: arn, outcome: suspend(ctx, arn) };
  } catch (err) {
    if (signal.aborted) throw err;
    if ((err as Error).name !== 'ExecutionAlreadyExists') return { outcome: awsFailure('start', err) };
    // Started before under this name (by this attempt, before a crash or a retried request): adopt it.
    const arn = executionArn(config.stateMachine, name);
    try {
      const d = await describe(ctx.aws, arn, signal);
      return { executionArn: arn, outcome: fromDescription(ctx, d) };
    } catch (e) {
      if (signal.aborted) throw e;
      return { outcome: awsFailure('describe', e) };
    }
  }
}

/**
 * A retry starts a new execution; the previous attempt's must not run on beside it. It is normally
 * over (it failed, or Baton stopped it at the timeout), but when the attempt timed out while its worker
 * was gone, nobody could stop it: stop it now. Best effort.
 */
async function stopPredecessor(ctx: ExecContext<StepFunctionsConfig>): Promise<void> {
  const arn = executionArn(ctx.config.stateMachine, executionName(ctx.runId, ctx.task, ctx.attempt - 1));
  try {
    const d = await describe(ctx.aws, arn, ctx.signal);
    if (ACTIVE.has(d.status ?? ''))
      await stop(
        ctx.aws,
        arn,
        `Baton task ${ctx.task} (run ${ctx.runId}): attempt ${ctx.attempt - 1} is over; attempt ${ctx.attempt} starts`,
        'Baton.Superseded',
      );
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // ExecutionDoesNotExist (its start failed), or the check failed: nothing more to do.
  }
}

/** A resumed attempt: read the execution's status. */
async function check(ctx: ExecContext<StepFunctionsConfig>, arn: string): Promise<Outcome> {
  try {
    return fromDescription(ctx, await describe(ctx.aws, arn, ctx.signal));
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const f = classifyAwsError(err, PERMANENT);
    // The execution goes on whatever happened to this request: keep waiting on it, look again soon.
    if (f.retryable) return { status: 'suspended', until: ctx.now() + RETRY_CHECK_MS, state: { executionArn: arn } satisfies SfnState };
    return { status: 'failed', reason: 'aws_error', message: `DescribeExecution ${arn}: ${f.name}: ${f.message}`, retryable: false };
  }
}

function fromDescription(ctx: ExecContext<StepFunctionsConfig>, d: DescribeExecutionCommandOutput): Outcome {
  const arn = d.executionArn as string;
  const status = d.status ?? 'RUNNING';
  if (ACTIVE.has(status)) return suspend(ctx, arn);
  if (status === 'SUCCEEDED') return { status: 'succeeded', output: parseOutput(d.output) };
  const detail = [d.error, d.cause].filter(Boolean).join(': ') || 'no error given';
  return {
    status: 'failed',
    reason: ENDED[status] ?? 'execution_failed',
    message: `execution ${arn} ${status}: ${detail}`,
    // Someone stopped it on purpose: starting it again is not ours to decide.
    retryable: status !== 'ABORTED',
  };
}

function suspend(ctx: ExecContext<StepFunctionsConfig>, arn: string): Outcome {
  const poll = ctx.config.pollInterval !== undefined ? (parseDuration(ctx.config.pollInterval) ?? DEFAULT_POLL_MS) : DEFAULT_POLL_MS;
  return { status: 'suspended', until: ctx.now() + Math.max(MIN_POLL_MS, poll), state: { executionArn: arn } satisfies SfnState };
}

function describe(aws: AwsClients, arn: string, signal: AbortSignal) {
  return aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }), { abortSignal: signal });
}

/** Stops an execution; best effort (it may have ended meanwhile, or never started). */
async function stop(aws: AwsClients, arn: string, cause: string, error = 'Baton.Timeout'): Promise<void> {
  try {
    await aws.sfn.send(new StopExecutionCommand({ executionArn: arn, error, cause }), {
      abortSignal: AbortSignal.timeout(10_000),
    });
  } catch {
    // ExecutionDoesNotExist (the start never went through) or already closed: nothing to stop.
  }
}

function awsFailure(what: string, err: unknown): Outcome {
  const f = classifyAwsError(err, PERMANENT);
  return { status: 'failed', reason: 'aws_error', message: `${what}: ${f.name}: ${f.message}`, retryable: f.retryable };
}

/**
 * The worker aborts with `LeaseLost` when the attempt was reclaimed: its new holder continues the same
 * attempt and adopts the execution, so it is not ours to stop. Any other abort (the timeout) stops it.
 */
function leaseLost(signal: AbortSignal): boolean {
  return abortReason(signal) instanceof LeaseLost;
}

function parseOutput(output: string | undefined): unknown {
  if (output === undefined || output === '') return null;
  try {
    return JSON.parse(output);
  } catch {
    return output;
  }
}

// ---- execution names ------------------------------------------------------------------------

const MAX_NAME = 80;
const RUN_ID = /^[A-Za-z0-9-]{1,40}$/;
const HASH_LEN = 8;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The execution name of one attempt: `{runId}_{attempt}_{task}`, within Step Functions' 80
 * characters and its CloudWatch-safe alphabet (letters, digits, `-`, `_`). A task name too long to fit
 * is cut and suffixed with `_` and 8 hex digits of its hash. A run id outside that alphabet (or too
 * long) gives `baton_` and a hash: still stable, but not resolvable from a status-change event, so
 * such an attempt learns of the end at its next poll.
 */
export function executionName(runId: string, task: string, attempt: number): string {
  const head = `${runId}_${attempt}_`;
  if (!RUN_ID.test(runId) || head.length > MAX_NAME - 2 - HASH_LEN) return `baton_${sha(`${runId}/${task}/${attempt}`).slice(0, 40)}`;
  if (head.length + task.length <= MAX_NAME) return head + task;
  return `${head}${task.slice(0, MAX_NAME - head.length - HASH_LEN - 1)}_${sha(task).slice(0, HASH_LEN)}`;
}

export interface ParsedName {
  readonly runId: string;
  readonly attempt: number;
  /** The task name, if the name was not cut. */
  readonly task: string;
  /** Set when the name may have been cut: the task's name starts with this, and its own execution name is this one. */
  readonly prefix?: string;
}

/** The reverse of `executionName`, where it can be reversed; undefined for names Baton does not make. */
export function parseExecutionName(name: string): ParsedName | undefined {
  const m = /^([A-Za-z0-9-]{1,40})_([1-9][0-9]{0,5})_([A-Za-z][A-Za-z0-9_-]*)$/.exec(name);
  if (!m) return undefined;
  const [, runId, attempt, rest] = m as unknown as [string, string, string, string];
  const cut = name.length === MAX_NAME && /_[0-9a-f]{8}$/.test(rest);
  return { runId, attempt: Number(attempt), task: rest, prefix: cut ? rest.slice(0, -(HASH_LEN + 1)) : undefined };
}

/** `arn:…:stateMachine:NAME[:qualifier]` + execution name → `arn:…:execution:NAME:executionName`. */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  // arn, partition, states, region, account, stateMachine, NAME[, qualifier]
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}
