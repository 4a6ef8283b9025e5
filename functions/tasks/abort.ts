/**
 * Why the worker aborted an attempt's `signal`: a closed set of typed reasons, so an executor tells
 * them apart with `instanceof` (or `kind`), never by comparing messages. The messages stay the words
 * the outcome reports (`aborted: lease lost`).
 *
 * - `LeaseLost`: the attempt was reclaimed (its lease expired); a new holder continues it, so the
 *   executor must stop without undoing anything external (the new holder adopts it).
 * - `AttemptTimeout`: the attempt ran past its timeout; the executor may stop external work.
 * - `Cancelled`: the run was cancelled (or ran past its own timeout); the executor stops external work.
 */
export type AbortKind = 'lease_lost' | 'timeout' | 'cancelled';

/** The base of every reason the worker aborts an attempt with. */
export abstract class AttemptAborted extends Error {
  abstract readonly kind: AbortKind;
}

export class LeaseLost extends AttemptAborted {
  override readonly name = 'LeaseLost';
  readonly kind = 'lease_lost' as const;
  constructor() {
    super('lease lost');
  }
}

export class AttemptTimeout extends AttemptAborted {
  override readonly name = 'AttemptTimeout';
  readonly kind = 'timeout' as const;
  constructor() {
    super('timeout');
  }
}

export class Cancelled extends AttemptAborted {
  override readonly name = 'Cancelled';
  readonly kind = 'cancelled' as const;
  constructor(why = 'cancelled') {
    super(why);
  }
}

/** The typed reason `signal` was aborted with, if it was aborted by the worker. */
export function abortReason(signal: AbortSignal): AttemptAborted | undefined {
  return signal.aborted && signal.reason instanceof AttemptAborted ? signal.reason : undefined;
}
