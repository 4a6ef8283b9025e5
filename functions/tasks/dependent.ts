import { BatonError } from '../common/errors.js';
import { type DependentConfig, dependentSchema } from '../engine/definition/dependent.js';
import { isFailureReason } from '../engine/failure-reason.js';
import type { Executor, Outcome } from './executor.js';

/**
 * Waits for a run of another workflow (DolphinScheduler's DEPENDENT task): succeeds as soon as a run
 * matching `params`, `window` and `status` exists, naming it in the output; otherwise the attempt
 * suspends, holding no worker. A matching run ending wakes it (orchestrator/dependents.ts); the
 * suspension's own wake-up, `BATON_RECHECK_MS` later, is only the backstop for a lost wake-up. The
 * task's `timeout` bounds the wait (reason `timeout`), as for any attempt.
 */
export const dependent: Executor<DependentConfig> = {
  type: 'dependent',
  schema: dependentSchema,
  async execute({ config, dependencies }): Promise<Outcome> {
    if (!dependencies) return { status: 'failed', reason: 'error', message: 'no dependency service in this context', retryable: false };
    let found: Awaited<ReturnType<typeof dependencies.find>>;
    try {
      found = await dependencies.find(config);
    } catch (err) {
      // An unknown workflow, or criteria the table cannot store: looking again would not change it.
      if (err instanceof BatonError) {
        return { status: 'failed', reason: isFailureReason(err.code) ? err.code : 'error', message: err.message, retryable: false };
      }
      throw err;
    }
    if (!found) return { status: 'suspended', state: { waitingFor: config.workflow } };
    return {
      status: 'succeeded',
      output: {
        runId: found.runId,
        workflow: found.workflow,
        status: found.status,
        logicalTime: new Date(found.logicalTime).toISOString(),
        ...(found.endedAt !== undefined && { endedAt: new Date(found.endedAt).toISOString() }),
      },
    };
  },
};
