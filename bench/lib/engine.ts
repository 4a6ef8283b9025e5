import { createApp } from '../../functions/api/app.js';
import type { BatonConfig } from '../../functions/common/config.js';
import { LocalRuntime, type RuntimeOptions } from '../../functions/local/runtime.js';
import { dynamoClient } from '../../functions/store/client.js';
import { benchLog, pollerStreams } from './env.js';
import { Meter } from './meter.js';

/**
 * A LocalRuntime in this process over a metered DynamoDB client, plus the HTTP API on the same
 * deps (called in-process with `app.request`). `start: false` gives an API-only runtime (no poller,
 * worker or sweeper running) for driving child processes.
 */
export class Engine {
  readonly meter: Meter;
  readonly runtime: LocalRuntime;
  readonly app: ReturnType<typeof createApp>;

  /** `capacity: false`: the meter counts requests only, leaving them as the engine sends them (timing runs). */
  constructor(
    readonly config: BatonConfig,
    opts: RuntimeOptions & { start?: boolean; capacity?: boolean } = {},
  ) {
    this.meter = new Meter({ capacity: opts.capacity ?? true });
    const client = dynamoClient();
    this.meter.attach(client);
    // API-only: what it dispatched would run in this process, not in the child processes it drives, so it
    // leaves each run's start to their masters (no inline start).
    const cfg = opts.start === false ? { ...config, inlineStart: false } : config;
    this.runtime = new LocalRuntime({ config: cfg, client, ...opts, deps: { log: benchLog, ...opts.deps } });
    const streams = pollerStreams(this.runtime);
    if (streams) this.meter.attachStreams(streams);
    this.app = createApp(this.runtime.deps);
    if (opts.start !== false) this.runtime.start();
  }

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    const prev = this.meter.phase;
    this.meter.phase = 'api';
    try {
      const res = await this.app.request(path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    } finally {
      this.meter.phase = prev;
    }
  }

  putWorkflow(def: { name: string }): Promise<{ version: number }> {
    return this.call('PUT', `/workflows/${def.name}`, def);
  }

  async startRun(workflow: string): Promise<string> {
    return (await this.call('POST', `/workflows/${workflow}/runs`, {})).runId;
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }
}
