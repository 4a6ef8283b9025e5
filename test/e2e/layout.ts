/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { beforeAll, expect, it } from 'vitest';
import { type Console, SLOW } from './setup.js';

/** The shell (redirect, favicon, /meta), the runs filters, the start form, and every page at 360 px. */
export function layoutSuite(c: Console) {
  beforeAll(async () => {
    await c.put('typed', {
      description: 'Declares typed params',
      params: {
        name: { type: 'string', required: true, description: 'Who to greet' },
        count: { type: 'integer', default: 3 },
        loud: { type: 'boolean' },
        extra: { type: 'object' },
      },
      tasks: { hello: { type: 'noop', output: '{{ params.name }}' } },
    });
  });

  it('serves / as a redirect to the console, a favicon, and the terminal statuses at /meta', async () => {
    const root = await fetch(`${c.base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    expect((await fetch(`${c.base}/favicon.ico`)).status).toBe(200);
    expect(await (await fetch(`${c.base}/meta`)).json()).toEqual({
      terminalRunStatuses: ['succeeded', 'failed', 'cancelled', 'skipped'],
      terminalTaskStatuses: ['succeeded', 'failed', 'skipped', 'cancelled'],
    });
    expect((await fetch(`${c.base}/console/vendor/vitest/package.json`)).status).toBe(404);
  });

  it('filters runs by status and trigger; the filters live in the URL', async () => {
    const { page } = c;
    await c.h.waitForRun(await c.start('flaky'), SLOW);
    await c.open('#/workflows/flaky');
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
    const { page } = c;
    await c.open('#/workflows/typed?tab=start');
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
    const run = await c.h.waitForRun(runId, SLOW);
    expect(run.params).toEqual({ name: 'Ada', count: 7, loud: true, extra: { k: [1, 2] } });
    expect(run.status).toBe('succeeded');
  });

  it('fits 360 px without horizontal scroll, on every page, light and dark', async () => {
    const { page } = c;
    const runs = async (q: string) => (await c.h.request('GET', `/workflows/${q}`)).body.runs;
    const fanout = (await runs('fanout/runs'))[0].runId;
    const failed = (await runs('flaky/runs?status=failed'))[0].runId;
    const backfill = (await runs('tick/runs')).find((r: any) => r.trigger?.type === 'backfill').trigger.backfillId;
    await page.setViewportSize({ width: 360, height: 800 });
    // Each page with what shows that its data arrived: the widest parts (tables, the graph) come with it.
    const pages = [
      ['#/', '[data-workflow]'],
      [`#/runs/${fanout}/tasks/b1`, '[data-panel]'],
      [`#/runs/${failed}/tasks/bad`, '[data-panel]'],
      ['#/workflows/typed?tab=start', 'text=Start run'],
      ['#/workflows/flaky', '[data-run-row]'],
      ['#/workflows/fanout?tab=definition', '[data-definition]'],
      ['#/workflows/weekday?tab=schedules', '[data-fire]'],
      [`#/backfills/${backfill}`, '[data-backfill-run]'],
    ] as const;
    try {
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const [hash, ready] of pages) {
          await c.open(hash);
          await page.locator(ready).first().waitFor();
          const width = await page.evaluate(() => document.documentElement.scrollWidth);
          expect(width, `${hash} (${scheme})`).toBeLessThanOrEqual(360);
        }
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
}
