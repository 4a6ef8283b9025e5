/** Names AWS gives to refusals that pass with time (throttling, contention). */
const BUSY = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'TransactionConflictException',
  'TimeoutError',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Whether an error says the table (or the way to it) is unwell rather than the data or the code: a
 * server fault, throttling, a network failure. Such an error is worth retrying for as long as it lasts,
 * and must not count against a record's bounded attempts: an overloaded table would otherwise fail
 * healthy runs as poison.
 */
export function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $fault?: string; $retryable?: unknown };
  return e.$fault === 'server' || e.$retryable !== undefined || BUSY.has(e.name ?? '') || NETWORK.has(e.code ?? '');
}
