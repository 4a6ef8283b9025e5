import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MeterSnapshot } from './meter.js';

const CHILD = fileURLToPath(new URL('../child.ts', import.meta.url));

/** A runtime in its own OS process (`node --import tsx bench/child.ts`). */
export class RuntimeProcess {
  private constructor(
    private readonly proc: ChildProcess,
    readonly pid: number,
    readonly workerId: string,
    readonly exited: Promise<number | null>,
  ) {}

  static async spawn(env: Record<string, string>): Promise<RuntimeProcess> {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, BATON_LOG_LEVEL: process.env.BATON_LOG_LEVEL ?? 'warn', ...env },
      // Child logs (stdout, pino) go to our stderr so that stdout carries only the report.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    proc.stdout?.pipe(process.stderr);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const ready = await new Promise<{ pid: number; workerId: string }>((ok, fail) => {
      const t = setTimeout(() => fail(new Error('runtime process did not start within 60 s')), 60_000);
      proc.once('exit', (code) => fail(new Error(`runtime process exited (${code}) before it was ready`)));
      proc.on('message', (m: any) => {
        if (m.type === 'ready') {
          clearTimeout(t);
          ok(m);
        }
      });
    });
    return new RuntimeProcess(proc, ready.pid, ready.workerId, exited);
  }

  private ask<T>(type: string): Promise<T> {
    return new Promise((ok, fail) => {
      const onMsg = (m: any) => {
        if (m.type === type) {
          this.proc.off('message', onMsg);
          ok(m as T);
        }
      };
      this.proc.on('message', onMsg);
      if (!this.proc.send({ type })) fail(new Error('runtime process is gone'));
    });
  }

  async stats(): Promise<MeterSnapshot> {
    return (await this.ask<{ snapshot: MeterSnapshot }>('stats')).snapshot;
  }

  async reset(): Promise<void> {
    await this.ask('reset');
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.send({ type: 'stop' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }

  /** SIGKILL, the crash the failover bench measures. */
  kill(): void {
    this.proc.kill('SIGKILL');
  }
}
