import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request the target received. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json?: unknown;
  /** 1-based count of requests to this path so far, this one included. */
  readonly n: number;
  readonly at: number;
}

/**
 * What a route answers: a status with a body (objects are sent as JSON), `hang` (never answer; the
 * socket stays open until the client gives up or the target closes), or `bytes` (a body of that
 * many bytes, streamed in chunks, for size-cap tests).
 */
export type Reply =
  | { readonly status?: number; readonly body?: unknown; readonly headers?: Record<string, string>; readonly delayMs?: number }
  | { readonly hang: true }
  | { readonly status?: number; readonly bytes: number };

export type Route = (req: Received) => Reply | Promise<Reply>;

/** A local HTTP server for http-task tests: per-path behaviour, and a record of every request. */
export interface HttpTarget {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Sets (or replaces) the behaviour of `path`. Unrouted paths answer 404. */
  route(path: string, handler: Route): void;
  /** Requests received, optionally only those to `path`, in arrival order. */
  received(path?: string): Received[];
  close(): Promise<void>;
}

export async function startHttpTarget(): Promise<HttpTarget> {
  const routes = new Map<string, Route>();
  const log: Received[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();

  const send = async (res: ServerResponse, reply: Reply) => {
    if ('hang' in reply) return; // never answer
    if ('bytes' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let left = reply.bytes;
      res.write('"');
      while (left > 0 && !res.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) await new Promise((r) => res.once('drain', r).once('close', r));
      }
      res.end('"');
      return;
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const isText = typeof reply.body === 'string';
    const payload = reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
    res.writeHead(reply.status ?? 200, {
      'content-type': isText ? 'text/plain' : 'application/json',
      ...reply.headers,
    });
    res.end(payload);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] as string;
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const r: Received = { method: req.method ?? 'GET', path, headers: req.headers, body, json, n, at: Date.now() };
      log.push(r);
      const route = routes.get(path);
      Promise.resolve(route ? route(r) : { status: 404, body: { error: 'no route' } })
        .then((reply) => send(res, reply))
        .catch((err) => {
          res.writeHead(599);
          res.end(String(err));
        });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    route: (path, handler) => {
      routes.set(path, handler);
    },
    received: (path) => (path === undefined ? [...log] : log.filter((r) => r.path === path)),
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
