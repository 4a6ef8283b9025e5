/** Waiting in tests: by polling for the state a test expects, never by a fixed pause standing in for it. */

/** Resolves after `ms`. For pacing (distinct timestamps, a lease that must expire), not for waiting on work. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `everyMs` until it returns a value other than `undefined` or `false`, and returns
 * that value. A probe that throws counts as not yet; after `timeoutMs` this throws, naming `what` and the
 * probe's last error.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
