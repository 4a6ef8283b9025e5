import type { TaskItem } from '../store/items.js';
import { heartbeat } from '../store/tasks.js';
import type { Deps } from './deps.js';

/**
 * A worker's hold on a running attempt. It renews the lease (the task's due time) every
 * `heartbeatMs`; the first renewal that fails means the lease was reclaimed, and `onLost` fires.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  lost = false;

  constructor(
    private readonly deps: Deps,
    private readonly task: TaskItem,
    private readonly onLost: () => void,
  ) {}

  start(): void {
    const { heartbeatMs, leaseMs } = this.deps.db.config;
    // The lease began when the attempt was queued (or, left out of the due index, when it was claimed:
    // overdue.ts); renew at once if most of it is already gone. An unindexed attempt that ends before
    // its first heartbeat never enters the index at all.
    const ends = this.task.dueAt ?? (this.task.claimedAt ?? 0) + leaseMs;
    if (ends - this.deps.now() < leaseMs / 2) this.renew();
    this.timer = setInterval(() => this.renew(), heartbeatMs);
    this.timer.unref?.();
  }

  /** Renews once; serialised so that renewals never overtake each other. */
  renew(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.lost) return;
      try {
        const ok = await heartbeat(this.deps.db, this.task, this.deps.now() + this.deps.db.config.leaseMs);
        if (!ok) this.markLost();
      } catch (err) {
        // A failed renewal is not a lost lease: the next one may go through before expiry.
        this.deps.log.warn({ run: this.task.runId, task: this.task.name, attempt: this.task.attempt, err }, 'heartbeat failed');
      }
    });
    return this.chain;
  }

  private markLost() {
    this.lost = true;
    this.stop();
    this.deps.log.warn(
      { run: this.task.runId, task: this.task.name, attempt: this.task.attempt, fence: this.task.fence },
      'lease lost: the attempt was reclaimed; stopping without writing',
    );
    this.onLost();
  }

  /** Stops renewing and waits for a renewal in flight, so no heartbeat lands after the outcome. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.chain;
  }
}
