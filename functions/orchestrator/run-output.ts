import type { RunItem } from '../store/items.js';
import { finishRun } from '../store/runs.js';
import { getTask } from '../store/tasks.js';
import { UnstorableError } from '../store/unstorable.js';
import type { Deps } from './deps.js';

/**
 * Largest collected output (JSON bytes) kept on the run item itself. Each sink's output may be as large
 * as a task output (`MAX_OUTPUT_BYTES` in engine/limits.ts, 256 KiB by default), so a run with several sinks could collect more than DynamoDB's 400 KB
 * item limit; past this size the run item only names its sinks and the outputs stay on their task items.
 */
export const RUN_OUTPUT_INLINE_BYTES = 64 * 1024;

/**
 * running → succeeded with the outputs of its succeeded sinks. Small outputs are copied onto the run
 * item; large ones, and any the table refuses there (one level deeper than on the task item, so one
 * nesting level too many), are referenced through `outputFrom` instead.
 */
export async function finishSucceeded(deps: Deps, runId: string, output: Record<string, unknown>, seen?: number) {
  if (Buffer.byteLength(JSON.stringify(output)) <= RUN_OUTPUT_INLINE_BYTES) {
    try {
      return await finishRun(deps.db, runId, 'succeeded', deps.now(), output, undefined, undefined, seen);
    } catch (err) {
      if (!(err instanceof UnstorableError)) throw err;
      deps.log.warn({ err, run: runId, cause: `output_${err.kind}` }, 'run output kept on its sink tasks');
    }
  }
  return finishRun(deps.db, runId, 'succeeded', deps.now(), undefined, undefined, Object.keys(output), seen);
}

/** A run's output, whether it was copied onto the run item or left on its sinks' task items. */
export function resolveOutput(run: RunItem, sinkOutput: (sink: string) => unknown): unknown {
  if (!run.outputFrom) return run.output;
  return Object.fromEntries(run.outputFrom.map((s) => [s, sinkOutput(s) ?? null]));
}

/** `resolveOutput`, reading the sink task items from the table. */
export async function loadOutput(deps: Pick<Deps, 'db'>, run: RunItem): Promise<unknown> {
  if (!run.outputFrom) return run.output;
  const sinks = await Promise.all(run.outputFrom.map((s) => getTask(deps.db, run.runId, s)));
  const byName = new Map(sinks.map((t) => [t?.name, t?.output]));
  return resolveOutput(run, (s) => byName.get(s));
}
