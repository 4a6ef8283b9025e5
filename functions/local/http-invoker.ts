import { createServer, type Server } from 'node:http';
import type { Logger } from '../common/logger.js';
import type { Job } from '../orchestrator/deps.js';

/**
 * Cross-process dispatch for the crash tests, standing in for asynchronous Lambda invocation between
 * separate OS processes. A worker process listens on a loopback port and accepts jobs by
 * `POST /jobs` (202 once accepted, before the attempt runs); master and sweeper processes hand each
 * attempt to one of the worker URLs. Like an async invoke, a dispatch is fire-and-forget: if no
 * worker accepts it, or the worker that accepted it dies, the attempt stays queued with a due time
 * and the sweeper dispatches it again.
 */

export interface WorkerServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const isJob = (v: unknown): v is Job => {
  const j = v as Partial<Job> | null;
  return typeof j === 'object' && j !== null && typeof j.runId === 'string' && typeof j.task === 'string' && Number.isInteger(j.attempt);
};

/** Listens for jobs on `host:port` (port 0: any free port) and hands each to `accept`, which must not run it inline. */
export function startWorkerServer(opts: {
  readonly port: number;
  readonly host?: string;
  readonly accept: (job: Job) => void;
  readonly log: Logger;
}): Promise<WorkerServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/jobs') {
      res.writeHead(req.url === '/health' ? 200 : 404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let job: unknown;
      try {
        job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        job = undefined;
      }
      if (!isJob(job)) {
        res.writeHead(400).end();
        return;
      }
      const dueAt = Number.isFinite(job.dueAt) ? { dueAt: job.dueAt } : {};
      opts.accept({ runId: job.runId, task: job.task, attempt: job.attempt, ...dueAt });
      res.writeHead(202).end();
    });
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, host, () => {
      const port = (server.address() as { port: number }).port;
      ok({
        url: `http://${host}:${port}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export interface HttpDispatchOptions {
  readonly urls: readonly string[];
  readonly log: Logger;
  /** How long to wait for a worker to accept a job before trying the next one (ms). */
  readonly timeoutMs?: number;
  /** `random` (default) starts at a random worker; `ordered` always tries them in the given order. */
  readonly order?: 'random' | 'ordered';
}

/**
 * A `Deps['dispatch']` that posts the job to a worker, trying each worker once (starting at a random
 * one) until one accepts. It never throws: a job nobody accepted is left to the sweeper.
 */
export function httpDispatch(opts: HttpDispatchOptions): (job: Job) => Promise<void> {
  const urls = opts.urls.filter((u) => u.length > 0);
  const timeoutMs = opts.timeoutMs ?? 1_000;
  return async (job: Job) => {
    if (urls.length === 0) {
      opts.log.warn({ job }, 'no worker to dispatch to; the sweeper will dispatch again');
      return;
    }
    const first = opts.order === 'ordered' ? 0 : Math.floor(Math.random() * urls.length);
    for (let i = 0; i < urls.length; i++) {
      // A dead or frozen worker does not accept: try the next one.
      if ((await postJob(urls[(first + i) % urls.length] as string, job, timeoutMs)) === 'accepted') return;
    }
    opts.log.warn({ job }, 'no worker accepted the job; the sweeper will dispatch again');
  };
}

/**
 * Posts one job to the worker at `url`: `accepted` (202), `refused` (no process listens there, or it
 * answered otherwise: the job is surely not running there) or `unanswered` (no answer in time: it may
 * still have been accepted by a worker too slow to say so).
 */
export async function postJob(url: string, job: Job, timeoutMs: number): Promise<'accepted' | 'refused' | 'unanswered'> {
  try {
    const res = await fetch(`${url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status === 202 ? 'accepted' : 'refused';
  } catch (err) {
    return (err as Error).name === 'TimeoutError' ? 'unanswered' : 'refused';
  }
}
