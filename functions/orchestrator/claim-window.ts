import type { RunItem } from '../store/items.js';
import { getRun } from '../store/runs.js';
import type { Deps } from './deps.js';

/**
 * The claim window: one round trip fewer per chain step (docs/performance.md, "Claim window").
 *
 * A held attempt (claimed by the write that made it ready, `store/tasks.ts EagerStart`) must learn that
 * its claim came before any pause, cancel or recovery of its run. Without the window it reads the run
 * after the claim's answer (a third round trip in sequence per step). With it, that read (the probe) is
 * sent at the same moment t0 as the claiming write, and stands for a read after the claim when
 *   (a) it shows the run running (not paused, not over; no newer recovery re-running the task: the
 *       worker's own check), and
 *   (b) the claim's answer and the probe's answer were both in by t0 + W/2 on this process's monotonic
 *       clock (`performance.now()`), W = `BATON_CLAIM_WINDOW_MS`.
 * Otherwise the worker reads the run again, after the claim, as before. A probe that shows the run
 * paused or over is acted on whatever its timing: holding or abandoning a claim is always allowed.
 *
 * Why (a) and (b) suffice. The probe landed at R ≥ t0 and showed the run running; the claim landed at
 * C < t0 + W/2 ≤ R + W/2. If nothing that stops work landed before C, the claim is as good as one
 * proved by a later read. Otherwise some X landed in (R, C), so C < X + W/2: the claim landed less than
 * W/2 after X. The other side makes that harmless:
 * - a pause (`operations/pause.ts`) answers only W after its write was acknowledged, so such a claim is
 *   `running` in the table before the pause returns: it counts as running at the pause, and a paused run
 *   keeps its running attempts. What the caller of pause is told stays true: nothing claimed after the
 *   pause returned runs while the run is paused;
 * - a cancel or a run timeout (`workMustStop`): the master's `stopWork` scans the run's open tasks when
 *   the terminal record arrives, which may be before C; it scans again once W has passed since the master
 *   saw the record (`stopAgain`: a due time on the run item, so a crash re-drives it), by which time every
 *   such claim (C < X + W/2) is in the table and is cancelled and aborted like any running attempt;
 * - a recovery needs the run ended first, so it comes after a cancel or a timeout (above), and every write
 *   that queued or claimed the task carried the advance's recovery count (`notReset`): a reset that came
 *   first refuses the claim, one that comes after fences it.
 * Clocks: W/2 is measured on the worker's monotonic clock and the pause's W on the API's; the second
 * stopWork pass compares the master's wall clock with the sweeper's (or the timer's), so it assumes
 * those differ by less than W/2 (NTP keeps them within milliseconds).
 */
export interface ClaimProbe {
  /** `performance.now()` just before the probe and the claiming write were sent. */
  readonly sentAt: number;
  /** `deps.now()` at the same moment (the lease's `claimedAt`). */
  readonly sentWall: number;
  /** The probe's answer and when it was in; undefined if the read failed. */
  readonly read: Promise<{ readonly run: RunItem | undefined; readonly at: number } | undefined>;
}

/** Sends the probe: call it right before the claiming write is sent. */
export function sendProbe(deps: Deps, runId: string): ClaimProbe {
  const sentWall = deps.now();
  const sentAt = performance.now();
  const read = getRun(deps.db, runId).then(
    (run) => ({ run, at: performance.now() }),
    () => undefined,
  );
  return { sentAt, sentWall, read };
}

/** What the worker decides from in place of a read after the claim. */
export interface ProbeView {
  readonly run: RunItem;
  /** When the probe was sent (`deps.now()` and `performance.now()`). */
  readonly sentWall: number;
  readonly sentAt: number;
  /** Set when the run was running and both answers were in time: the wall time by which they were. */
  readonly confirmedAt?: number;
}

/**
 * The probe's run, if the worker may decide from it (see above); undefined: read the run after the claim.
 * `claimBack`: `performance.now()` once the claim's answer was in.
 */
export async function probeView(deps: Deps, probe: ClaimProbe, claimBack: number): Promise<ProbeView | undefined> {
  const r = await probe.read;
  if (!r?.run) return undefined;
  const view = { run: r.run, sentWall: probe.sentWall, sentAt: probe.sentAt };
  if (r.run.status !== 'running') return view; // paused or over: hold or abandon, whenever the claim landed
  const took = Math.max(r.at, claimBack) - probe.sentAt;
  if (took >= deps.db.config.claimWindowMs / 2) return undefined;
  return { ...view, confirmedAt: probe.sentWall + Math.ceil(took) };
}
