import type { TaskItem } from '../store/items.js';
import { peekTask } from '../store/peek.js';
import { type AttemptAborted, Cancelled, LeaseLost } from '../tasks/abort.js';
import type { Deps } from './deps.js';

/**
 * Lets a running attempt learn within seconds, in whatever process it runs, that its task is no longer
 * its own: cancelled (the run was cancelled or timed out, and `stopWork` cancelled the task) or fenced
 * out (marked succeeded, recovered). Without it the attempt would learn at its next heartbeat, a third
 * of the lease later (10 s by default), or after the call it is making ends.
 *
 * Cost: one eventually consistent GetItem of the task item every `cancelCheckMs` (2 s by default) while
 * the attempt runs, 0.5 read units for a task item under 4 KB; the first check comes after one interval,
 * so an attempt that ends sooner reads nothing. A minute-long http call costs 30 reads (15 read units).
 */
export class CancelWatch {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Set when the task was found to have moved on: the attempt must record nothing. */
  fenced = false;

  constructor(
    private readonly deps: Deps,
    private readonly task: TaskItem,
    private readonly onGone: (reason: AttemptAborted) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.db.config.cancelCheckMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check; a failed read is ignored (the next check, or the heartbeat, will tell). */
  async check(): Promise<void> {
    if (this.busy || this.fenced || !this.timer) return;
    this.busy = true;
    try {
      const now = await peekTask(this.deps.db, this.task.runId, this.task.name);
      if (!now || !this.timer) return;
      // An eventually consistent read may still show the claim's predecessor: only a newer fence or a
      // status other than running under our own fence means the task moved on.
      const moved = (now.fence ?? 0) > (this.task.fence ?? 0) || (now.fence === this.task.fence && now.status !== 'running');
      if (!moved) return;
      this.fenced = true;
      this.stop();
      const cancelled = now.status === 'cancelled';
      const reason = cancelled ? new Cancelled(now.error?.message ?? 'cancelled') : new LeaseLost();
      this.deps.log.info(
        { run: this.task.runId, task: this.task.name, attempt: this.task.attempt, fence: this.task.fence, now: now.status },
        cancelled ? 'task cancelled while running; aborting the attempt' : 'task moved on while running; aborting the attempt',
      );
      this.onGone(reason);
    } catch (err) {
      this.deps.log.warn({ run: this.task.runId, task: this.task.name, attempt: this.task.attempt, err }, 'cancel check failed');
    } finally {
      this.busy = false;
    }
  }
}
