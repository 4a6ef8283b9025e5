import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { consoleAndApi } from '../../functions/local/console.js';
import { type Harness, startHarness } from '../support/harness.js';
import { collectErrors, launchChromium } from './browser.js';

/** How long a run may take on a loaded machine (2 cores shared by a whole suite): a bound, not a speed. */
export const SLOW = 150_000;

/**
 * What every browser suite shares: one LocalRuntime over DynamoDB Local, served as `npm start` serves
 * it, one headless Chromium and one page. Starting them is most of the tier's time, so the suites
 * (`run-page.ts`, `operations.ts`, `schedules.ts`, `layout.ts`) are modules that `console.test.ts`
 * runs in one file, over one of these.
 */
export interface Console {
  readonly h: Harness;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly page: Page;
  /** Page errors and console errors since the last test; each test ends with none. */
  readonly errors: string[];
  /** Starts a run through the API and returns its id. */
  start(workflow: string, params?: unknown): Promise<string>;
  put(name: string, def: unknown): Promise<void>;
  /** Opens `/console/<hash>`. */
  open(hash: string): Promise<unknown>;
  /** `GET /runs/{id}` through the API (not the page). */
  run(runId: string): Promise<any>;
}

/** Registers the hooks that start the shared runtime, server and browser, and returns them (filled once `beforeAll` ran). */
export function useConsole(): Console {
  const c = {} as { -readonly [K in keyof Console]: Console[K] };
  let server: ReturnType<typeof serve> | undefined;
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
  beforeAll(async () => {
    const h = await startHarness();
    c.h = h;
    server = serve({ fetch: consoleAndApi(h.app).fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((res) => server?.once('listening', res));
    c.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    chrome = await launchChromium();
    c.page = await chrome.context.newPage();
    c.page.setDefaultTimeout(SLOW);
    await c.page.setViewportSize({ width: 1280, height: 900 });
    c.errors = collectErrors(c.page);
    c.start = async (workflow, params) => {
      const r = await h.request('POST', `/workflows/${workflow}/runs`, params === undefined ? {} : { params });
      expect(r.status).toBe(201);
      return r.body.runId as string;
    };
    c.put = async (name, def) => expect((await h.request('PUT', `/workflows/${name}`, { name, ...(def as object) })).status).toBe(201);
    c.open = (hash) => c.page.goto(`${c.base}/console/${hash}`);
    c.run = async (runId) => {
      const r = await h.request('GET', `/runs/${runId}`);
      expect(r.status).toBe(200);
      return r.body;
    };
  });
  afterAll(async () => {
    await chrome?.close();
    server?.close();
    await c.h?.stop();
  });
  afterEach(() => {
    expect(c.errors.splice(0)).toEqual([]);
  });
  return c;
}

/** Polls `check` until it returns a value other than undefined (an API state a click should lead to). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = SLOW): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
