import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { parseDuration } from '../engine/definition/duration.js';
import { defaultEgress, egressDenial, policyFetch } from './egress/dispatcher.js';
import type { EgressPolicy } from './egress/policy.js';
import { type Executor, type Outcome, templated } from './executor.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

const schema = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    url: templated(z.url({ protocol: /^https?$/ })),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
    /** Per-request timeout; the task's own `timeout` bounds the whole attempt. */
    requestTimeout: templated(z.union([z.string(), z.number()])).optional(),
    maxResponseBytes: z.number().int().positive().max(DEFAULT_MAX_RESPONSE_BYTES).optional(),
    /** Follow 3xx redirects (default true); every hop is checked against the egress policy again. */
    followRedirects: templated(z.boolean()).optional(),
  })
  .strict();

export type HttpConfig = z.infer<typeof schema>;

/** Where an `http` task may connect: the policy and the dispatcher that enforces it on every connection. */
export interface HttpEgress {
  readonly policy: EgressPolicy;
  readonly dispatcher: Dispatcher;
}

/**
 * The `http` task type under an egress policy (by default this process's, from the environment, built
 * on first use). A 2xx succeeds with the parsed JSON body (or the text) as output. Every request carries
 * an `Idempotency-Key` header (run/task/attempt) so the target can deduplicate a request that a failover
 * repeats. 5xx, 408, 429 and network errors are retryable; other 4xx are not; a destination the policy
 * refuses fails with reason `egress_denied`, not retryable, before any socket is opened.
 */
export function httpExecutor(egress: () => HttpEgress = defaultEgress): Executor<HttpConfig> {
  return {
    type: 'http',
    schema,
    execute: (ctx) => call(egress(), ctx.config, ctx.signal, ctx.idempotencyKey),
  };
}

/** The `http` task type under this process's egress policy. */
export const http: Executor<HttpConfig> = httpExecutor();

async function call(egress: HttpEgress, config: HttpConfig, signal: AbortSignal, idempotencyKey: string): Promise<Outcome> {
  const timeoutMs = config.requestTimeout !== undefined ? (parseDuration(config.requestTimeout) ?? DEFAULT_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  const limit = config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const headers: Record<string, string> = { 'idempotency-key': idempotencyKey, ...lower(config.headers) };
  let body: string | undefined;
  if (config.body !== undefined && config.method !== 'GET' && config.method !== 'HEAD') {
    body = typeof config.body === 'string' ? config.body : JSON.stringify(config.body);
    headers['content-type'] ??= 'application/json';
  }
  let res: Awaited<ReturnType<typeof policyFetch>>;
  try {
    res = await policyFetch(egress.policy, config.url, {
      method: config.method,
      headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      redirect: config.followRedirects === false ? 'manual' : 'follow',
      dispatcher: egress.dispatcher,
    });
  } catch (err) {
    const denied = egressDenial(err);
    if (denied) return { status: 'failed', reason: 'egress_denied', message: denied.message, retryable: false };
    if (signal.aborted) return { status: 'failed', reason: 'aborted', message: String(signal.reason) };
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError')
      return { status: 'failed', reason: 'timeout', message: `no response from ${config.url} within ${timeoutMs} ms` };
    return { status: 'failed', reason: 'network', message: `${config.method} ${config.url}: ${e.cause?.code ?? e.message}` };
  }
  const text = await readCapped(res, limit);
  if (text === undefined) {
    return { status: 'failed', reason: 'response_too_large', message: `response body exceeds ${limit} bytes`, retryable: false };
  }
  if (res.status < 200 || res.status > 299) {
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    return {
      status: 'failed',
      reason: `http_${res.status}`,
      message: `${config.method} ${config.url} answered ${res.status}: ${text.slice(0, 200)}`,
      retryable,
    };
  }
  return { status: 'succeeded', output: parse(text) };
}

function lower(h: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

function parse(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads the body as text, giving up (undefined) as soon as it passes `limit` bytes. */
async function readCapped(res: Awaited<ReturnType<typeof policyFetch>>, limit: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
