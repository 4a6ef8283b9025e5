import { z } from 'zod';
import { BatonError } from '../common/errors.js';
import { NAME_PATTERN } from '../engine/definition/schema.js';
import { isFailureReason } from '../engine/failure-reason.js';
import { type Executor, type Outcome, templated } from './executor.js';

const schema = z
  .object({
    workflow: z.string().regex(NAME_PATTERN, 'a workflow name'),
    version: templated(z.number().int().positive()).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * Runs another workflow as a child and completes from it: succeeded with the child's output, or
 * failed with the child's failure (then this task's own retry policy applies; a retry is a new
 * attempt with its own new child). The attempt waits without polling: the child's completion wakes
 * it. Exactly one child per attempt is guaranteed by `ctx.children.ensure`.
 */
export const subworkflow: Executor<z.infer<typeof schema>> = {
  type: 'subworkflow',
  schema,
  // The child gets `${secrets.NAME}` references in its params, never values: they resolve where used.
  secrets: 'pass',
  async execute({ config, children }): Promise<Outcome> {
    let child: Awaited<ReturnType<typeof children.ensure>>;
    try {
      child = await children.ensure({
        workflow: config.workflow,
        version: typeof config.version === 'number' ? config.version : undefined,
        params: config.params ?? {},
      });
    } catch (err) {
      // A child that cannot be created (unknown workflow, bad params, recursion, depth) never will be.
      if (err instanceof BatonError) {
        const reason = isFailureReason(err.code) ? err.code : 'child_not_started';
        return { status: 'failed', reason, message: err.message, retryable: false };
      }
      throw err;
    }
    switch (child.status) {
      case 'succeeded':
        return { status: 'succeeded', output: child.output ?? null };
      case 'failed': {
        const f = child.failure;
        const why = f ? `task ${f.task} failed (${f.reason}): ${f.message}` : 'failed';
        return { status: 'failed', reason: 'child_failed', message: `child run ${child.runId} of ${config.workflow}: ${why}` };
      }
      case 'cancelled':
      case 'skipped':
        return { status: 'failed', reason: `child_${child.status}`, message: `child run ${child.runId} was ${child.status}` };
      default:
        return { status: 'suspended', state: { childRunId: child.runId } };
    }
  },
};
