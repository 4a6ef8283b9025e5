/**
 * Every reason a task or a run can fail (or a task be skipped) with: a closed set, so that a reader,
 * the console and an alarm can rely on the words, and a new reason is a change here and in the
 * README's table (test/architecture/failure-reasons.test.ts keeps the two equal).
 *
 * What a reporter says in its own words never becomes a reason: a callback's `reason` is kept beside
 * it as `callbackReason` (reason `callback`), and a message always carries the detail.
 */
export const FAILURE_REASONS = [
  // Any attempt
  'error',
  'timeout',
  'lost',
  'aborted',
  'unknown_type',
  'template',
  'secret_missing',
  'invalid_config',
  // Data the table refuses: the attempt's output, its suspended state, its error, data it derived, the run's own
  'output_too_large',
  'output_unstorable',
  'state_too_large',
  'state_unstorable',
  'error_too_large',
  'error_unstorable',
  'data_too_large',
  'data_unstorable',
  'run_too_large',
  'run_unstorable',
  // Control flow (skips and failures decided before a task starts)
  'upstream',
  'condition',
  'expression',
  'run_failed',
  'cancelled',
  'run_timeout',
  // Maps and pools
  'map_items',
  'map_items_failed',
  'pool_unknown',
  'pool_too_small',
  // Task types
  'fail',
  'egress_denied',
  'network',
  'response_too_large',
  'function_error',
  'payload_too_large',
  'throttled',
  'lambda_map',
  'callback',
  'aws_error',
  'input_too_large',
  'unsupported',
  'execution_failed',
  'execution_timed_out',
  'execution_aborted',
  'child_failed',
  'child_cancelled',
  'child_skipped',
  'child_not_started',
  'not_found',
  'invalid_params',
  'recursion',
  'depth_exceeded',
  // The engine itself
  'engine_error',
] as const;

/** A non-2xx answer to an `http` task: `http_404`, `http_503`, ... (written `http_<status>` in the README). */
export type HttpStatusReason = `http_${number}`;

/** Why a task or run failed, or a task was skipped. */
export type FailureReason = (typeof FAILURE_REASONS)[number] | HttpStatusReason;

const KNOWN: ReadonlySet<string> = new Set(FAILURE_REASONS);

/** True when `s` is one of the closed set (for codes that come from elsewhere, such as a BatonError's). */
export function isFailureReason(s: string): s is FailureReason {
  return KNOWN.has(s) || /^http_\d{3}$/.test(s);
}
