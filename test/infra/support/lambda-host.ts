import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOST = fileURLToPath(new URL('./lambda-host.mjs', import.meta.url));

/** One warm Lambda execution environment for a bundle, in its own Node.js process with its own environment. */
export class LambdaHost {
  /** Lines the function wrote to stdout and stderr (its CloudWatch log stream). */
  readonly logs: string[] = [];
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private next = 0;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => this.logs.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('message', (m: any) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(Object.assign(new Error(`${name}: ${m.error.message}`), { stack: m.error.stack }));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited with ${code}: ${this.logs.slice(-5).join('\n')}`));
      this.pending.clear();
    });
  }

  /** Starts the process and imports the bundle; resolves once the module has loaded. */
  static start(name: string, file: string, exportName: string, env: Record<string, string>): Promise<LambdaHost> {
    const child = fork(HOST, [file, exportName], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const host = new LambdaHost(name, child);
    return new Promise((resolve, reject) => {
      child.once('message', (m: any) => (m.ready ? resolve(host) : reject(new Error(`${name}: unexpected ${JSON.stringify(m)}`))));
      child.once('exit', (code) => reject(new Error(`${name} failed to start (exit ${code}):\n${host.logs.join('\n')}`)));
    });
  }

  invoke<T = any>(event: unknown): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, event });
    });
  }

  stop(): void {
    this.child.kill();
  }
}
