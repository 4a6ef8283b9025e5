/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { consoleAndApi } from '../../functions/local/console.js';
import { type Harness, startHarness } from '../support/harness.js';
import { collectErrors, launchChromium } from './browser.js';
import { captureScreenshots } from './screenshots.js';

// The console in headless Chromium against a LocalRuntime over DynamoDB Local, served as `npm start` serves it.

const BRANCHES = 10;
const fanOut = {
  description: 'Fan out to ten waits, fan back in',
  tasks: {
    start: { type: 'noop', output: { items: BRANCHES } },
    ...Object.fromEntries(
      Array.from({ length: BRANCHES }, (_, i) => [`b${i}`, { type: 'wait', duration: `${2 + (i % 3) * 0.5}s`, after: ['start'] }]),
    ),
    join: { type: 'noop', after: Array.from({ length: BRANCHES }, (_, i) => `b${i}`), output: { done: true } },
  },
};
/** How long a run may take on a loaded machine (2 cores shared by a whole suite): a bound, not a speed. */
const SLOW = 90_000;
const LONG_ERROR = `the disk is full: ${'x'.repeat(400)} END-OF-MESSAGE`;

let h: Harness;
let server: ReturnType<typeof serve>;
let base: string;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
let errors: string[];

const start = async (workflow: string, params?: unknown) => {
  const r = await h.request('POST', `/workflows/${workflow}/runs`, params === undefined ? {} : { params });
  expect(r.status).toBe(201);
  return r.body.runId as string;
};
const put = async (name: string, def: unknown) =>
  expect((await h.request('PUT', `/workflows/${name}`, { name, ...(def as object) })).status).toBe(201);
const open = (hash: string) => page.goto(`${base}/console/${hash}`);

describe('console in a real browser', { timeout: 2 * SLOW }, () => {
  beforeAll(async () => {
    h = await startHarness();
    await put('fanout', fanOut);
    await put('flaky', {
      description: 'Fails twice with a long error',
      tasks: {
        prepare: { type: 'noop' },
        bad: { type: 'fail', message: LONG_ERROR, after: ['prepare'], retry: { attempts: 2, delay: '100ms' } },
      },
    });
    await put('leaf', { tasks: { only: { type: 'noop', output: { from: 'child' } } } });
    await put('parent', { tasks: { call: { type: 'subworkflow', workflow: 'leaf' }, after: { type: 'noop', after: ['call'] } } });
    await put('slow', { tasks: { nap: { type: 'wait', duration: '60s' } } });
    await put('typed', {
      description: 'Declares typed params',
      params: {
        name: { type: 'string', required: true, description: 'Who to greet' },
        count: { type: 'integer', default: 3 },
        loud: { type: 'boolean' },
        extra: { type: 'object' },
      },
      tasks: { hello: { type: 'noop', output: '{{ params.name }}' } },
    });
    const app = consoleAndApi(h.app);
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((res) => server.once('listening', res));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    chrome = await launchChromium();
    context = chrome.context;
    page = await context.newPage();
    page.setDefaultTimeout(SLOW);
    await page.setViewportSize({ width: 1280, height: 900 });
    errors = collectErrors(page);
  });

  afterAll(async () => {
    await chrome?.close();
    server?.close();
    await h?.stop();
  });

  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  it('serves / as a redirect to the console, a favicon, and the terminal statuses at /meta', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(200);
    expect(await (await fetch(`${base}/meta`)).json()).toEqual({
      terminalRunStatuses: ['succeeded', 'failed', 'cancelled', 'skipped'],
      terminalTaskStatuses: ['succeeded', 'failed', 'skipped', 'cancelled'],
    });
    expect((await fetch(`${base}/console/vendor/vitest/package.json`)).status).toBe(404);
  });

  it('a 12-task fan-out / fan-in run: 12 graph nodes whose status follows the run live, one timeline bar per attempt', async () => {
    const runId = await start('fanout');
    await open(`#/runs/${runId}`);
    await page.waitForSelector('[data-task="join"]');
    // Record every status each node shows, as the page changes it.
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (window as unknown as { seen: typeof seen }).seen = seen;
      const note = () => {
        for (const n of document.querySelectorAll('svg [data-task]')) {
          const t = n.getAttribute('data-task') as string;
          const s = n.getAttribute('data-status') as string;
          seen[t] = seen[t] ?? [];
          const list = seen[t];
          if (list.at(-1) !== s) list.push(s);
        }
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    expect(await page.locator('svg.graph [data-task]').count()).toBe(12);
    await page.waitForSelector('[data-run-status="succeeded"]', { timeout: SLOW });
    const seen = (await page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen)) as Record<string, string[]>;
    expect(Object.keys(seen).sort()).toEqual(Object.keys(fanOut.tasks).sort());
    for (const [task, statuses] of Object.entries(seen)) {
      expect(statuses.at(-1), task).toBe('succeeded');
      if (task !== 'start') expect(statuses.length, `${task} went through ${statuses}`).toBeGreaterThan(1);
    }
    // Whether a poll lands inside a 2 s wait depends on the machine's load, so 'waiting' is not required.
    expect(seen.join?.[0]).toBe('blocked');
    const run = (await h.request('GET', `/runs/${runId}`)).body;
    const attempts = run.tasks.reduce((n: number, t: { attempts: unknown[] }) => n + t.attempts.length, 0);
    expect(attempts).toBeGreaterThanOrEqual(12);
    expect(await page.locator('.timeline [data-task][data-attempt]').count()).toBe(attempts);
    for (const t of run.tasks)
      expect(await page.locator(`.timeline [data-task="${t.name}"][data-attempt]`).count()).toBe(t.attempts.length);
    // The run is terminal: the page stops asking for it.
    let calls = 0;
    page.on('request', (r) => {
      if (r.url().includes(`/runs/${runId}`)) calls++;
    });
    await page.waitForTimeout(2500);
    expect(calls).toBe(0);
    if (process.env.BATON_SCREENSHOTS)
      await captureScreenshots(page, `${base}/console/#/runs/${runId}/tasks/b3`, process.env.BATON_SCREENSHOTS);
  });

  it('a failed task: both attempts on the timeline, its whole error in the task panel, reachable from the graph by keyboard', async () => {
    const runId = await start('flaky');
    await h.waitForRun(runId, SLOW);
    await open(`#/runs/${runId}`);
    await page.waitForSelector('[data-task="bad"][data-status="failed"]');
    expect(await page.locator('.timeline [data-task="bad"][data-attempt]').count()).toBe(2);
    expect(await page.locator('.timeline [data-task="bad"][data-attempt="2"]').getAttribute('data-status')).toBe('failed');
    // Tab to the failed node and open it with Enter.
    await page.locator('svg a[aria-label^="bad"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/#/runs/${runId}/tasks/bad`);
    const panel = page.locator('[data-error="bad"]');
    expect(await panel.textContent()).toContain('END-OF-MESSAGE');
    const clipped = await panel.locator('pre').evaluate((el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight);
    expect(clipped).toBe(false);
    expect(await page.locator('[data-attempt-row]').count()).toBe(2);
    // Reload keeps the task open.
    await page.reload();
    await page.waitForSelector('[data-error="bad"]');
    // A failed run offers what the API lists for it: recover and rerun, never cancel.
    await page.waitForSelector('button[data-action="recover"]');
    expect(await page.locator('button[data-action="rerun"]').count()).toBe(1);
    expect(await page.locator('button[data-action="cancel"]').count()).toBe(0);
  });

  it('follows a child run and comes back with Back; the child links to its parent', async () => {
    const runId = await start('parent');
    await h.waitForRun(runId, SLOW);
    await open(`#/runs/${runId}`);
    await page.locator('a[data-child]').first().click();
    await page.waitForSelector('[data-task="only"][data-status="succeeded"]');
    const childUrl = page.url();
    expect(childUrl).not.toContain(runId);
    expect(await page.locator('a[data-parent]').getAttribute('href')).toBe(`#/runs/${runId}/tasks/call`);
    expect(await page.locator('[data-trigger="parent"]').textContent()).toContain(runId);
    await page.goBack();
    await page.waitForURL(`**/#/runs/${runId}`);
    await page.waitForSelector('[data-task="call"][data-status="succeeded"]');
    await page.goForward();
    await page.waitForURL(childUrl);
  });

  it('cancels only after confirmation, then hides the action', async () => {
    const runId = await start('slow');
    await open(`#/runs/${runId}`);
    await page.waitForSelector('[data-task="nap"][data-status="waiting"]');
    await page.click('button[data-action="cancel"]');
    await page.getByRole('button', { name: 'No' }).click();
    expect((await h.request('GET', `/runs/${runId}`)).body.status).not.toBe('cancelled');
    await page.click('button[data-action="cancel"]');
    await page.click('button[data-confirm="cancel"]');
    await page.waitForSelector('[data-run-status="cancelled"]');
    expect((await h.request('GET', `/runs/${runId}`)).body.status).toBe('cancelled');
    // Cancel is gone; what a cancelled run allows (recover, rerun) is offered instead.
    await page.waitForSelector('button[data-action="recover"]');
    expect(await page.locator('button[data-action="cancel"]').count()).toBe(0);
  });

  it('filters runs by status and trigger; the filters live in the URL', async () => {
    await start('flaky');
    const ok = await start('typed', { name: 'a' });
    await h.waitForRun(ok, SLOW);
    await open('#/workflows/flaky');
    await page.waitForSelector('[data-run-row]');
    await page.getByLabel('Status').selectOption('failed');
    await page.waitForURL('**/#/workflows/flaky?status=failed');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-run-row]')];
      return rows.length >= 1 && rows.every((r) => r.getAttribute('data-status') === 'failed');
    });
    await page.getByLabel('Trigger').selectOption('schedule');
    await page.waitForFunction(() => document.querySelectorAll('[data-run-row]').length === 0);
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('[data-run-row]').length >= 1);
    expect(await page.locator('[data-trigger="api"]').count()).toBeGreaterThan(0);
  });

  it('starts a run from a form generated from the declared params', async () => {
    await open('#/workflows/typed?tab=start');
    await page.getByLabel(/^name/).waitFor();
    expect(await page.getByLabel(/^count/).inputValue()).toBe('3');
    expect(await page.getByLabel(/^name/).getAttribute('required')).not.toBeNull();
    await page.getByLabel(/^count/).fill('2.5');
    await page.getByLabel(/^name/).fill('Ada');
    await page.getByRole('button', { name: 'Start run' }).click();
    // The browser refuses a fraction in an integer field: nothing is sent.
    expect(await page.getByLabel(/^count/).evaluate((el) => (el as HTMLInputElement).validity.valid)).toBe(false);
    expect(page.url()).toContain('tab=start');
    await page.getByLabel(/^count/).fill('7');
    await page.getByLabel(/^loud/).selectOption('true');
    await page.getByLabel(/^extra/).fill('{"k": [1, 2]}');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/[^/]+$/);
    const runId = decodeURIComponent(page.url().split('#/runs/')[1] ?? '');
    const run = await h.waitForRun(runId, SLOW);
    expect(run.params).toEqual({ name: 'Ada', count: 7, loud: true, extra: { k: [1, 2] } });
    expect(run.status).toBe('succeeded');
  });

  it('fits 360 px without horizontal scroll, on every page, light and dark', async () => {
    const runId = (await h.request('GET', '/workflows/fanout/runs')).body.runs[0].runId;
    const failed = (await h.request('GET', '/workflows/flaky/runs?status=failed')).body.runs[0].runId;
    await page.setViewportSize({ width: 360, height: 800 });
    const pages = [
      '#/',
      `#/runs/${runId}/tasks/b1`,
      `#/runs/${failed}/tasks/bad`,
      '#/workflows/typed?tab=start',
      '#/workflows/flaky',
      '#/workflows/fanout?tab=definition',
    ];
    for (const [scheme, hashes] of [
      ['light', pages],
      ['dark', pages.slice(1, 3)],
    ] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const hash of hashes) {
        await open(hash);
        await page.waitForSelector('main h2');
        await page.waitForTimeout(150);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(width, `${hash} (${scheme})`).toBeLessThanOrEqual(360);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
