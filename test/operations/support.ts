import { createServer } from 'node:http';
import type { Harness } from '../support/harness.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` returns something defined. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(30);
  }
}

export const task = (run: any, name: string) => run.tasks.find((t: any) => t.name === name);

/** The run's view once `check` holds for it. */
export const runWhen = (h: Harness, runId: string, what: string, check: (run: any) => boolean, ms?: number) =>
  until(
    what,
    async () => {
      const r = (await h.request('GET', `/runs/${runId}`)).body;
      return check(r) ? r : undefined;
    },
    ms,
  );

/** A promise with its resolver, for targets that answer when the test says so. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

/**
 * A real socket on loopback that never answers: it records when each request arrived (`opened`) and
 * when its connection closed (`closed`), so a test can watch the engine hang up.
 */
export async function startHoldingServer() {
  const opened: number[] = [];
  const closed: number[] = [];
  const server = createServer((req) => {
    opened.push(Date.now());
    req.socket.on('close', () => closed.push(Date.now()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    opened,
    closed,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}
