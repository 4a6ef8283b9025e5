import { mintCallbackToken } from '../../functions/orchestrator/callback-token.js';
import { type AwsClients, lazyAwsClients } from '../../functions/tasks/aws-clients.js';
import type { ExecContext, Executor, Outcome } from '../../functions/tasks/executor.js';

export interface CtxOptions {
  runId?: string;
  task?: string;
  attempt?: number;
  state?: unknown;
  signal?: AbortSignal;
  now?: number;
  /** The AWS clients the executor calls (tests pass mocked ones). */
  aws?: AwsClients;
}

/**
 * Runs an executor the way the worker does: the raw config goes through the type's schema first
 * (so defaults apply and bad configs fail), then `execute` gets a context.
 */
export async function runExecutor<C>(ex: Executor<C>, config: unknown, o: CtxOptions = {}): Promise<Outcome> {
  const parsed = ex.schema.safeParse(config);
  if (!parsed.success) throw new Error(`invalid config: ${parsed.error.message}`);
  const runId = o.runId ?? 'r0abcdefgh0123456789abcdef';
  const task = o.task ?? 'step';
  const attempt = o.attempt ?? 1;
  const now = o.now ?? 1_700_000_000_000;
  const ctx: ExecContext<C> = {
    runId,
    task,
    attempt,
    idempotencyKey: `${runId}/${task}/${attempt}`,
    config: parsed.data,
    signal: o.signal ?? new AbortController().signal,
    state: o.state,
    startedAt: now,
    now: () => now,
    children: {
      ensure: () => Promise.reject(new Error('no children for this task type')),
    },
    callbacks: { mint: () => mintCallbackToken(runId, task, attempt) },
    aws: o.aws ?? lazyAwsClients(),
  };
  return ex.execute(ctx);
}

/** `runExecutor` with these AWS clients in every context. */
export const withAws =
  (aws: AwsClients) =>
  <C>(ex: Executor<C>, config: unknown, o: CtxOptions = {}): Promise<Outcome> =>
    runExecutor(ex, config, { aws, ...o });
