// The HTTP API as the console calls it: one fetch wrapper, the server's terminal statuses, and where
// the API lives (same origin locally; `config.json` written by the CDK construct in AWS).
import { authHeader, authRequired, forgetToken } from './auth.js';

let base = location.origin;
let meta;

/** Reads `config.json` when the console was deployed with one (apiUrl, sign-in), else keeps the same origin. */
export async function loadConfig() {
  const res = await fetch(new URL('config.json', location.href)).catch(() => undefined);
  const config = res?.ok ? await res.json().catch(() => ({})) : {};
  if (config.apiUrl) base = config.apiUrl;
  return config;
}

/** An API error with the server's code, message and field details. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    const details = (e.details ?? []).map((d) => `${d.path}: ${d.message}`).join('; ');
    super(`${status} ${e.code ?? ''}: ${e.message ?? 'request failed'}${details ? ` (${details})` : ''}`);
    this.status = status;
    this.code = e.code;
  }
}

/** Calls the API; JSON in and out; throws ApiError on a non-2xx answer. */
export async function api(method, path, body) {
  const headers = { ...(await authHeader()) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // A token the API no longer accepts (expired, user removed): back to the sign-in screen.
  if (res.status === 401 && authRequired()) forgetToken();
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The server's list of terminal run statuses (`GET /meta`), fetched once: polling stops on these. */
export async function terminalRunStatuses() {
  meta ??= api('GET', '/meta');
  return new Set((await meta).terminalRunStatuses);
}

/** The server's list of terminal task statuses (`GET /meta`). */
export async function terminalTaskStatuses() {
  meta ??= api('GET', '/meta');
  return new Set((await meta).terminalTaskStatuses);
}

export const enc = encodeURIComponent;
