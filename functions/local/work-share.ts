import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { Logger } from '../common/logger.js';
import type { Job } from '../orchestrator/deps.js';
import { postJob } from './http-invoker.js';
import type { Membership, View } from './membership.js';

export interface WorkShareOptions {
  readonly membership: Membership;
  readonly log: Logger;
  /** Runs a job in this process (the in-process invoker). */
  readonly runHere: (job: Job) => Promise<void>;
  /** Handles records this process takes over from a member that left or died (the master's batch handler). */
  readonly retake: (records: _Record[]) => Promise<void>;
  /**
   * How long a record skipped for another member is kept, in case that member dies before handling
   * it (default: 3 member leases + 2 heartbeats, at least 10 s).
   */
  readonly keepMs: number;
  /** How long to wait for another member to accept a job before running it here (ms). */
  readonly postTimeoutMs?: number;
  readonly now?: () => number;
}

interface Skipped {
  readonly record: _Record;
  readonly owner: string;
  readonly at: number;
}

/**
 * Splits the work of one table between local runtime processes instead of letting them race for it.
 * The unit of work is a **run**: one member owns a run's stream records and runs its tasks' attempts,
 * so a run's chain never crosses processes (no HTTP per task, no master in one process re-processing
 * an ending whose inline advance another process is still making), and two members are two engines
 * over their halves of the runs. A single wide run is not spread over the members; many runs are.
 *
 * - **Stream records.** Every member reads the whole stream (as every Lambda event source would), but
 *   handles only the records of the runs it owns (rendezvous hashing over the live members, keyed by
 *   the record's `runId`; a record of no run by its item key): one master per record instead of one
 *   per process, so no duplicate reads and no conditional writes lost to a twin.
 * - **Jobs.** A queued attempt is run by the member that owns its run: here (the normal case, since
 *   the master or worker that queued it owns the run), or posted to that member's worker
 *   (`POST /jobs`, fire and forget like an async invoke) when it was queued elsewhere (a sweeper
 *   re-dispatching, a view that changed meanwhile). A member that is gone (connection refused) is
 *   bypassed: the job runs here. One that is only slow to answer is not raced: if it never claims the
 *   job, the sweeper dispatches it again at the claim deadline.
 * - **Takeover.** A record skipped for another member is kept for `keepMs`. When that member leaves
 *   the view (it stopped, or its lease ran out after a SIGKILL), the records it owned and this member
 *   now owns are handled here: at worst twice, which every master transition tolerates (each is
 *   conditional on the state it moves from). Members that briefly disagree on the view lose nothing
 *   either: a record both skip is owned, in the view both converge to, by one that kept it. Anything
 *   older than `keepMs` falls to the engine's own safety nets: the sweeper for attempts, the run
 *   watchdog for runs whose events were lost.
 */
export class WorkShare {
  private skipped: Skipped[] = [];
  private readonly now: () => number;
  private retaking: Promise<void> = Promise.resolve();

  constructor(private readonly opts: WorkShareOptions) {
    this.now = opts.now ?? Date.now;
    opts.membership.onChange((prev, next) => this.onViewChange(prev, next));
  }

  /** The records of a batch this member handles; the others are kept for a takeover. */
  select(records: _Record[]): _Record[] {
    const m = this.opts.membership;
    const now = this.now();
    this.expire(now);
    const mine: _Record[] = [];
    for (const r of records) {
      const owner = m.owner(recordKey(r)).memberId;
      if (owner === m.id) mine.push(r);
      else this.skipped.push({ record: r, owner, at: now });
    }
    return mine;
  }

  /** A `Deps['dispatch']`: runs the job where its owner is. */
  async dispatch(job: Job): Promise<void> {
    const m = this.opts.membership;
    const owner = m.owner(jobKey(job));
    if (owner.memberId === m.id || !owner.url) return this.opts.runHere(job);
    const answer = await postJob(owner.url, job, this.opts.postTimeoutMs ?? 1000);
    if (answer === 'accepted') return;
    if (answer === 'unanswered') {
      // A slow owner may have accepted it: running it here too would only race it. If nobody claims
      // it by its claim deadline, the sweeper dispatches it again (to a live owner by then).
      this.opts.log.warn({ job, owner: owner.memberId }, 'member did not answer in time; the sweeper re-dispatches if it never claims');
      return;
    }
    this.opts.log.debug({ job, owner: owner.memberId }, 'member refused the job or is gone; running it here');
    return this.opts.runHere(job);
  }

  /** Resolves once records taken over so far are handled (for a clean stop). */
  settled(): Promise<void> {
    return this.retaking;
  }

  private expire(now: number) {
    const cutoff = now - this.opts.keepMs;
    let i = 0;
    while (i < this.skipped.length && (this.skipped[i] as Skipped).at < cutoff) i++;
    if (i > 0) this.skipped = this.skipped.slice(i);
  }

  private onViewChange(_prev: View, next: View) {
    const m = this.opts.membership;
    this.expire(this.now());
    const gone = this.skipped.filter((s) => !next.ids.has(s.owner));
    if (gone.length === 0) return;
    const take = gone.filter((s) => m.owner(recordKey(s.record)).memberId === m.id);
    // What went to another survivor is theirs now: forget it here.
    const goneSet = new Set(gone);
    this.skipped = this.skipped.filter((s) => !goneSet.has(s));
    if (take.length === 0) return;
    this.opts.log.info(
      { member: m.id, records: take.length, from: [...new Set(take.map((s) => s.owner))] },
      'taking over stream records of members that left',
    );
    const records = take.map((s) => s.record);
    this.retaking = this.retaking.then(() => this.opts.retake(records)).catch((err) => this.opts.log.error({ err }, 'takeover failed'));
  }
}

/**
 * What a stream record is shared by: its run (the `runId` every run, task and map item carries, in
 * the new image or, for a removal, the old one), else the item's key, whatever its attributes are called.
 */
export function recordKey(r: _Record): string {
  const runId = r.dynamodb?.NewImage?.runId?.S ?? r.dynamodb?.OldImage?.runId?.S;
  if (runId !== undefined) return runKey(runId);
  return JSON.stringify(r.dynamodb?.Keys ?? r.eventID ?? '');
}

/** What a job is shared by: its run, as for the run's records. */
export const jobKey = (job: Job): string => runKey(job.runId);

const runKey = (runId: string): string => `run:${runId}`;
