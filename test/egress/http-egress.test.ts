import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressDispatcher, type Resolver } from '../../functions/tasks/egress/dispatcher.js';
import { type EgressPolicy, policyFromEnv } from '../../functions/tasks/egress/policy.js';
import type { ExecContext, Outcome } from '../../functions/tasks/executor.js';
import { type HttpConfig, httpExecutor } from '../../functions/tasks/http.js';

/** A loopback server that counts the TCP connections it accepts. */
interface Counted {
  readonly url: string;
  readonly port: number;
  connections: number;
  requests: { path: string; host: string | undefined }[];
  close(): Promise<void>;
}

async function counted(host: string, handler?: (path: string) => { status: number; location?: string }): Promise<Counted> {
  const state = { connections: 0, requests: [] as Counted['requests'] };
  const server: Server = createServer((req, res) => {
    state.requests.push({ path: req.url ?? '/', host: req.headers.host });
    const r = handler?.(req.url ?? '/') ?? { status: 200 };
    res.writeHead(r.status, { 'content-type': 'application/json', ...(r.location ? { location: r.location } : {}) });
    res.end(JSON.stringify({ ok: true }));
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((ok) => server.listen(0, host, ok));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  });
}

/** Counts sockets that Node's net module creates (any TCP connection attempt at all). */
function socketsCreatedDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sockets: number }> {
  let sockets = 0;
  const onSocket = () => sockets++;
  subscribe('net.client.socket', onSocket);
  return fn()
    .then((result) => ({ result, sockets }))
    .finally(() => unsubscribe('net.client.socket', onSocket));
}

const names: Record<string, string[]> = {
  'metadata.test': ['169.254.169.254'],
  'loop.test': ['127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
  'fallback.test': ['127.0.0.4', '127.0.0.1'],
  'secure.test': ['127.0.0.1'],
  'mapped.test': ['::ffff:169.254.169.254'],
};
const resolver: Resolver = async (host) => {
  const found = names[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

function call(policy: EgressPolicy, url: string, extra: Partial<HttpConfig> = {}, ca?: Buffer): Promise<Outcome> {
  const dispatcher = egressDispatcher(policy, { resolver, connect: ca ? { ca } : undefined });
  const exec = httpExecutor(() => ({ policy, dispatcher }));
  const ctx = {
    runId: 'r',
    task: 't',
    attempt: 1,
    idempotencyKey: 'r/t/1',
    config: { method: 'GET', url, ...extra } as HttpConfig,
    signal: new AbortController().signal,
  } as ExecContext<HttpConfig>;
  return exec.execute(ctx).finally(() => dispatcher.close());
}

describe('the egress policy on real loopback sockets', () => {
  let allowed: Counted;
  let forbidden: Counted;
  let engine: Counted;
  let redirector: Counted;

  beforeAll(async () => {
    allowed = await counted('127.0.0.1');
    forbidden = await counted('127.0.0.2');
    engine = await counted('127.0.0.1');
    redirector = await counted('127.0.0.1', (path) =>
      path === '/to-forbidden'
        ? { status: 302, location: `${forbidden.url}/secret` }
        : path === '/to-metadata'
          ? { status: 301, location: 'http://169.254.169.254/latest/meta-data/' }
          : { status: 302, location: `${allowed.url}/landed` },
    );
  });
  afterAll(async () => {
    await Promise.all([allowed, forbidden, engine, redirector].map((s) => s.close()));
  });

  const policy = (env: Record<string, string> = {}) => policyFromEnv({ AWS_ENDPOINT_URL_DYNAMODB: engine.url, ...env });

  it('an allowed loopback target is called (npm start defaults)', async () => {
    const before = allowed.connections;
    const out = await call(policy(), `${allowed.url}/hello`);
    expect(out).toEqual({ status: 'succeeded', output: { ok: true } });
    expect(allowed.connections).toBe(before + 1);
  });

  it('a denied target records zero connections and opens no socket', async () => {
    const { result, sockets } = await socketsCreatedDuring(() => call(policy({ BATON_HTTP_DENY: '127.0.0.2' }), `${forbidden.url}/x`));
    expect(result).toMatchObject({ status: 'failed', reason: 'egress_denied', retryable: false });
    expect((result as { message: string }).message).toContain('127.0.0.2');
    expect((result as { message: string }).message).toContain('BATON_HTTP_DENY 127.0.0.2');
    expect(sockets).toBe(0);
    expect(forbidden.connections).toBe(0);
  });

  it('BATON_HTTP_DENY=127.0.0.0/8 refuses a loopback target; without it the same call succeeds', async () => {
    const before = allowed.connections;
    const denied = await call(policy({ BATON_HTTP_DENY: '127.0.0.0/8' }), `${allowed.url}/x`);
    expect(denied).toMatchObject({ status: 'failed', reason: 'egress_denied', retryable: false });
    expect((denied as { message: string }).message).toContain('127.0.0.0/8');
    expect(allowed.connections).toBe(before);
    expect(await call(policy(), `${allowed.url}/x`)).toMatchObject({ status: 'succeeded' });
    expect(allowed.connections).toBe(before + 1);
  });

  it("the engine's own DynamoDB endpoint is refused, by any loopback name for it, with no connection", async () => {
    for (const url of [engine.url, `http://localhost:${engine.port}`, `http://127.0.0.9:${engine.port}`, `http://[::1]:${engine.port}`]) {
      const { result, sockets } = await socketsCreatedDuring(() => call(policy(), `${url}/`));
      expect(result, url).toMatchObject({ status: 'failed', reason: 'egress_denied', retryable: false });
      expect((result as { message: string }).message).toContain('engine DynamoDB endpoint');
      expect(sockets).toBe(0);
    }
    expect(engine.connections).toBe(0);
  });

  it('169.254.169.254 and its IPv4-mapped and IPv6 metadata forms are refused, even when allowed by name or range', async () => {
    const wide = policy({ BATON_HTTP_ALLOW: 'public,private,loopback,0.0.0.0/0,::/0,metadata.test' });
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1]/',
      'http://metadata.test/',
      'http://mapped.test/',
    ]) {
      const { result, sockets } = await socketsCreatedDuring(() => call(wide, url));
      expect(result, url).toMatchObject({ status: 'failed', reason: 'egress_denied', retryable: false });
      expect((result as { message: string }).message).toContain('always denied');
      expect(sockets).toBe(0);
    }
  });

  it('a host name that resolves to a denied address is refused (the check is on the resolved address)', async () => {
    const before = allowed.connections;
    const denied = await call(policy({ BATON_HTTP_DENY: '127.0.0.0/8' }), `http://loop.test:${allowed.port}/`);
    expect(denied).toMatchObject({ status: 'failed', reason: 'egress_denied' });
    expect((denied as { message: string }).message).toContain('loop.test (127.0.0.1)');
    expect(allowed.connections).toBe(before);
  });

  it('connects to the address it checked and keeps the name as the Host header', async () => {
    const out = await call(policy(), `http://loop.test:${allowed.port}/pinned`);
    expect(out).toMatchObject({ status: 'succeeded' });
    expect(allowed.requests.at(-1)).toEqual({ path: '/pinned', host: `loop.test:${allowed.port}` });
  });

  it('tries the next checked address when one refuses the connection', async () => {
    const out = await call(policy(), `http://fallback.test:${allowed.port}/second`);
    expect(out).toMatchObject({ status: 'succeeded' });
    expect(allowed.requests.at(-1)?.path).toBe('/second');
  });

  it('HTTPS to a pinned address still verifies the certificate against the host name', async () => {
    const fixture = (f: string) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url));
    const cert = fixture('secure-test.crt');
    const server = createTlsServer({ key: fixture('secure-test.key'), cert }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sni: (req.socket as import('node:tls').TLSSocket).servername }));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await call(policy(), `https://secure.test:${port}/`, {}, cert)).toEqual({
        status: 'succeeded',
        output: { sni: 'secure.test' },
      });
      // The same server by its address: the certificate does not name 127.0.0.1, so TLS refuses it.
      expect(await call(policy(), `https://127.0.0.1:${port}/`, {}, cert)).toMatchObject({ status: 'failed', reason: 'network' });
    } finally {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it('in AWS (no allow list) loopback is refused; an allow entry lets one range through', async () => {
    const aws = { AWS_LAMBDA_FUNCTION_NAME: 'baton-worker' };
    const before = allowed.connections;
    const denied = await call(policy(aws), `${allowed.url}/`);
    expect(denied).toMatchObject({ status: 'failed', reason: 'egress_denied' });
    expect((denied as { message: string }).message).toContain('not in BATON_HTTP_ALLOW (public)');
    expect(allowed.connections).toBe(before);
    expect(await call(policy({ ...aws, BATON_HTTP_ALLOW: 'public,127.0.0.1' }), `${allowed.url}/`)).toMatchObject({ status: 'succeeded' });
  });

  it('a redirect from an allowed server to a denied address is refused at that hop', async () => {
    const out = await call(policy({ BATON_HTTP_DENY: '127.0.0.2' }), `${redirector.url}/to-forbidden`);
    expect(out).toMatchObject({ status: 'failed', reason: 'egress_denied', retryable: false });
    expect(forbidden.connections).toBe(0);
    const meta = await call(policy(), `${redirector.url}/to-metadata`);
    expect(meta).toMatchObject({ status: 'failed', reason: 'egress_denied' });
  });

  it('an allowed redirect is followed; followRedirects: false stops at the 3xx', async () => {
    expect(await call(policy(), `${redirector.url}/hop`)).toMatchObject({ status: 'succeeded', output: { ok: true } });
    expect(allowed.requests.at(-1)?.path).toBe('/landed');
    const manual = await call(policy(), `${redirector.url}/hop`, { followRedirects: false });
    expect(manual).toMatchObject({ status: 'failed', reason: 'http_302', retryable: false });
  });

  it('port rules refuse other ports before any lookup', async () => {
    const out = await call(policy({ BATON_HTTP_PORTS: '80,443' }), `${allowed.url}/`);
    expect(out).toMatchObject({ status: 'failed', reason: 'egress_denied' });
    expect((out as { message: string }).message).toContain(`port ${allowed.port} not in BATON_HTTP_PORTS`);
  });
});
