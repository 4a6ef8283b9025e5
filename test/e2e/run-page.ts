/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { beforeAll, expect, it } from 'vitest';
import { captureScreenshots } from './screenshots.js';
import { type Console, SLOW } from './setup.js';

const BRANCHES = 10;
/** Ten branches that wait a minute: the test releases them (mark success through the API) once the page shows them waiting. */
const fanOut = {
  description: 'Fan out to ten waits, fan back in',
  tasks: {
    start: { type: 'noop', output: { items: BRANCHES } },
    ...Object.fromEntries(Array.from({ length: BRANCHES }, (_, i) => [`b${i}`, { type: 'wait', duration: '60s', after: ['start'] }])),
    join: { type: 'noop', after: Array.from({ length: BRANCHES }, (_, i) => `b${i}`), output: { done: true } },
  },
};
const LONG_ERROR = `the disk is full: ${'x'.repeat(400)} END-OF-MESSAGE`;

/** The run page: graph, timeline, task panel, parent and child links. */
export function runPageSuite(c: Console) {
  beforeAll(async () => {
    await c.put('fanout', fanOut);
    await c.put('flaky', {
      description: 'Fails twice with a long error',
      tasks: {
        prepare: { type: 'noop' },
        bad: { type: 'fail', message: LONG_ERROR, after: ['prepare'], retry: { attempts: 2, delay: '100ms' } },
      },
    });
    await c.put('leaf', { tasks: { only: { type: 'noop', output: { from: 'child' } } } });
    await c.put('parent', { tasks: { call: { type: 'subworkflow', workflow: 'leaf' }, after: { type: 'noop', after: ['call'] } } });
  });

  it('a 12-task fan-out / fan-in run: 12 graph nodes whose status follows the run live, one timeline bar per attempt', async () => {
    const { page } = c;
    const runId = await c.start('fanout');
    // Record every status each node shows, from the page's first render on.
    await page.addInitScript(() => {
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
      document.addEventListener('DOMContentLoaded', () => {
        note();
        new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
      });
    });
    // A new document, so that the script runs (a change of hash alone would keep the old one).
    await page.goto('about:blank');
    await c.open(`#/runs/${runId}`);
    await page.waitForSelector('svg [data-task="join"]');
    expect(await page.locator('svg.graph [data-task]').count()).toBe(12);
    // Every branch is shown waiting; then each is released, and the page follows.
    for (let i = 0; i < BRANCHES; i++) await page.waitForSelector(`svg [data-task="b${i}"][data-status="waiting"]`);
    const released = await Promise.all(
      Array.from({ length: BRANCHES }, (_, i) => c.h.request('POST', `/runs/${runId}/tasks/b${i}/complete`, { output: { branch: i } })),
    );
    expect(released.map((r) => r.status)).toEqual(Array(BRANCHES).fill(200));
    await page.waitForSelector('[data-run-status="succeeded"]', { timeout: SLOW });
    const seen = (await page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen)) as Record<string, string[]>;
    expect(Object.keys(seen).sort()).toEqual(Object.keys(fanOut.tasks).sort());
    for (const [task, statuses] of Object.entries(seen)) {
      expect(statuses.at(-1), task).toBe('succeeded');
      if (task.startsWith('b')) expect(statuses, task).toContain('waiting');
    }
    expect(seen.join?.[0]).toBe('blocked');
    const run = await c.run(runId);
    const attempts = run.tasks.reduce((n: number, t: { attempts: unknown[] }) => n + t.attempts.length, 0);
    expect(attempts).toBeGreaterThanOrEqual(12);
    expect(await page.locator('.timeline [data-task][data-attempt]').count()).toBe(attempts);
    for (const t of run.tasks)
      expect(await page.locator(`.timeline [data-task="${t.name}"][data-attempt]`).count()).toBe(t.attempts.length);
    // The run is terminal: the page (which polls every second while it is not) stops asking for it.
    let calls = 0;
    page.on('request', (r) => {
      if (r.url().includes(`/runs/${runId}`)) calls++;
    });
    await page.waitForTimeout(1500);
    expect(calls).toBe(0);
    if (process.env.BATON_SCREENSHOTS) {
      // For the docs, the same shape with branches that really wait (2 to 3 s): a timeline worth a look.
      const tasks = Object.fromEntries(
        Object.entries(fanOut.tasks).map(([k, t]) => [
          k,
          t.type === 'wait' ? { ...t, duration: `${2 + (Number(k.slice(1)) % 3) * 0.5}s` } : t,
        ]),
      );
      await c.put('fanout-demo', { ...fanOut, tasks });
      const demo = await c.start('fanout-demo');
      await c.h.waitForRun(demo, SLOW);
      await captureScreenshots(page, `${c.base}/console/#/runs/${demo}/tasks/b3`, process.env.BATON_SCREENSHOTS);
    }
  });

  it('a failed task: both attempts on the timeline, its whole error in the task panel, reachable from the graph by keyboard', async () => {
    const { page } = c;
    const runId = await c.start('flaky');
    await c.h.waitForRun(runId, SLOW);
    await c.open(`#/runs/${runId}`);
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
    const { page } = c;
    const runId = await c.start('parent');
    await c.h.waitForRun(runId, SLOW);
    await c.open(`#/runs/${runId}`);
    await page.locator('a[data-child]').first().click();
    await page.waitForSelector('[data-task="only"][data-status="succeeded"]');
    const childUrl = page.url();
    expect(childUrl).not.toContain(runId);
    expect(await page.locator('a[data-parent]').getAttribute('href')).toBe(`#/runs/${runId}/tasks/call`);
    expect(await page.locator('[data-trigger="parent"]').textContent()).toContain(runId);
    // The breadcrumb names the child's workflow, not the parent's.
    expect(await page.locator('nav.crumbs').textContent()).toContain('leaf');
    await page.goBack();
    await page.waitForURL(`**/#/runs/${runId}`);
    await page.waitForSelector('[data-task="call"][data-status="succeeded"]');
    await page.goForward();
    await page.waitForURL(childUrl);
  });
}
