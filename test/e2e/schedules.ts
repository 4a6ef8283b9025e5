/// <reference lib="dom" />
import { beforeAll, expect, it } from 'vitest';
import { type Console, SLOW } from './setup.js';

/** Schedules (next fire times, pause / resume), backfills (progress), and the runs list refreshing by itself. */
export function schedulesSuite(c: Console) {
  beforeAll(async () => {
    await c.put('tick', { description: 'Runs on a schedule', tasks: { nap: { type: 'wait', duration: '1s' } } });
    await c.put('weekday', { tasks: { report: { type: 'noop' } } });
  });

  it('the runs list refreshes by itself: a scheduled run appears, and its status follows the run', async () => {
    const { page } = c;
    await c.open('#/workflows/tick');
    await page.getByText('No run matches.').waitFor();
    // The same document all along: the page never reloads.
    await page.evaluate(() => ((window as unknown as { kept: number }).kept = 1));
    const put = await c.h.request('PUT', '/workflows/tick/schedules/often', { cron: '*/2 * * * * *', timezone: 'UTC' });
    expect(put.status).toBe(201);
    try {
      const row = page
        .locator('[data-run-row]')
        .filter({ has: page.locator('[data-trigger="schedule"]') })
        .first();
      await row.waitFor();
      const runId = (await row.getAttribute('data-run-row')) as string;
      expect((await c.run(runId)).trigger.type).toBe('schedule');
      await c.h.waitForRun(runId, SLOW);
      await page.waitForSelector(`[data-run-row="${runId}"][data-status="succeeded"]`);
      expect(await page.evaluate(() => (window as unknown as { kept?: number }).kept)).toBe(1);
    } finally {
      expect((await c.h.request('DELETE', '/workflows/tick/schedules/often')).status).toBeLessThan(300);
    }
  });

  it("shows a cron schedule's next fire times, and pauses and resumes it", async () => {
    const { page } = c;
    const put = await c.h.request('PUT', '/workflows/weekday/schedules/mornings', { cron: '30 9 * * 1-5', timezone: 'Europe/Paris' });
    expect(put.status).toBe(201);
    const next = (await c.h.request('GET', '/workflows/weekday/schedules/mornings/next?count=3')).body;
    await c.open('#/workflows/weekday?tab=schedules');
    const row = page.locator('[data-schedule="mornings"]');
    await row.locator('[data-fire]').nth(2).waitFor();
    expect(await row.locator('[data-fire]').evaluateAll((li) => li.map((l) => l.getAttribute('data-fire')))).toEqual(
      next.fireTimes.map((t: { utc: string }) => t.utc),
    );
    expect(await row.textContent()).toContain('30 9 * * 1-5');
    expect(await row.textContent()).toContain('Europe/Paris');
    await page.getByRole('button', { name: 'Pause schedule mornings' }).click();
    await row.locator('[data-state="paused"]').waitFor();
    expect((await c.h.request('GET', '/workflows/weekday/schedules/mornings')).body.enabled).toBe(false);
    await row.locator('[data-next="paused"]').waitFor();
    expect(await row.locator('[data-fire]').count()).toBe(0);
    await page.getByRole('button', { name: 'Resume schedule mornings' }).click();
    await row.locator('[data-state="active"]').waitFor();
    expect((await c.h.request('GET', '/workflows/weekday/schedules/mornings')).body.enabled).toBe(true);
    await row.locator('[data-fire]').nth(2).waitFor();
    // The workflows list shows the schedule's state too.
    await c.open('#/');
    await page.locator('[data-workflow="weekday"]').getByText('1 active, 0 paused').waitFor();
  });

  it("shows a backfill's progress and its runs, linked from the workflow", async () => {
    const { page } = c;
    const hour = 3_600_000;
    const now = Math.floor(Date.now() / hour) * hour;
    const r = await c.h.request('POST', '/workflows/tick/backfills', {
      cron: '0 * * * *',
      timezone: 'UTC',
      start: new Date(now - 3 * hour + 1).toISOString(),
      end: new Date(now).toISOString(),
      mode: 'parallel',
      parallelism: 3,
    });
    expect(r.status).toBe(201);
    const id = r.body.backfillId as string;
    const total = r.body.progress.total as number;
    expect(total).toBeGreaterThanOrEqual(2);
    await c.open(`#/backfills/${id}`);
    await page.waitForSelector(`[data-progress="${total}/${total}"]`);
    expect(
      await page.locator('#bf-progress').evaluate((el) => [(el as HTMLProgressElement).value, (el as HTMLProgressElement).max]),
    ).toEqual([total, total]);
    const b = (await c.h.request('GET', `/backfills/${id}`)).body;
    expect(b.progress.done).toBe(total);
    expect(await page.locator('[data-backfill-run]').count()).toBe(total);
    // From the workflow's schedules tab to the backfill, and from there to one of its runs.
    await c.open('#/workflows/tick?tab=schedules');
    await page.locator(`a[href="#/backfills/${id}"]`).click();
    await page.waitForURL(`**/#/backfills/${id}`);
    await page.locator('[data-backfill-run] a').first().click();
    await page.waitForSelector('[data-trigger="backfill"]');
    expect(await page.locator('[data-trigger="backfill"] a').first().getAttribute('href')).toBe(`#/backfills/${id}`);
  });
}
