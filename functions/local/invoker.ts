import type { Logger } from '../common/logger.js';

/**
 * Stands in for asynchronous Lambda invocation: accepts work at once and runs it in the
 * background, at most `concurrency` at a time, in arrival order.
 */
export class Invoker<J> {
  private readonly queue: J[] = [];
  private active = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly run: (job: J) => Promise<void>,
    private readonly log: Logger,
    private readonly concurrency = 32,
  ) {}

  async invoke(job: J): Promise<void> {
    if (this.closed) return;
    this.queue.push(job);
    this.pump();
  }

  private pump() {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as J;
      this.active++;
      // The job runs on a later turn, never inside the dispatcher's own call.
      setImmediate(() => {
        this.run(job)
          .catch((err) => this.log.error({ err, job }, 'invocation failed'))
          .finally(() => {
            this.active--;
            this.pump();
            if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
          });
      });
    }
  }

  get busy(): boolean {
    return this.active > 0 || this.queue.length > 0;
  }

  /** Stops taking work and waits (up to `ms`) for what is running. Queued work is dropped: the sweeper re-dispatches it. */
  async close(ms = 5000): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    if (this.active === 0) return;
    await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}
