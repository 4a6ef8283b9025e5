import type { Request } from 'playwright-core';
import { beforeAll, expect, it } from 'vitest';
import { type Console, eventually, SLOW } from './setup.js';

/**
 * The run page's buttons for the operations the API offers. Each test clicks as a person would and
 * then reads the run through the API, not the page: the button must have done what it says.
 */
export function operationsSuite(c: Console) {
  /** The POSTs the page sends from now on, as `<path>`. */
  const posts = () => {
    const sent: string[] = [];
    const on = (r: Request) => {
      if (r.method() === 'POST') sent.push(new URL(r.url()).pathname);
    };
    c.page.on('request', on);
    return { sent, stop: () => c.page.off('request', on) };
  };
  /** Clicks an action's button and, when it asks, confirms. */
  const act = async (name: string) => {
    await c.page.click(`button[data-action="${name}"]`);
    const confirm = c.page.locator(`button[data-confirm="${name}"]`);
    if (await confirm.count()) await confirm.click();
  };

  beforeAll(async () => {
    await c.put('slow', { tasks: { nap: { type: 'wait', duration: '600s' }, after: { type: 'noop', after: ['nap'] } } });
    await c.put('once', { tasks: { only: { type: 'noop', output: { n: 1 } } } });
    await c.put('fails', { tasks: { bad: { type: 'fail', message: 'no such bucket' } } });
  });

  it('cancels only after confirmation: dismissing changes nothing, confirming cancels', async () => {
    const { page } = c;
    const runId = await c.start('slow');
    await c.open(`#/runs/${runId}`);
    await page.waitForSelector('[data-task="nap"][data-status="waiting"]');
    const sent = posts();
    await page.click('button[data-action="cancel"]');
    await page.getByRole('button', { name: 'No' }).click();
    expect(sent.sent).toEqual([]);
    expect((await c.run(runId)).status).toBe('running');
    await page.click('button[data-action="cancel"]');
    await page.click('button[data-confirm="cancel"]');
    await page.waitForSelector('[data-run-status="cancelled"]');
    sent.stop();
    expect(sent.sent).toEqual([`/runs/${runId}/cancel`]);
    expect((await c.run(runId)).status).toBe('cancelled');
    // The master ends the run's tasks after the run: the page follows them too, not only the run.
    const nap = await eventually(async () => {
      const t = (await c.run(runId)).tasks.find((x: { name: string }) => x.name === 'nap');
      return ['waiting', 'queued', 'running'].includes(t.status) ? undefined : t;
    }, 'the waiting task ended');
    expect(nap.status).toBe('cancelled');
    await page.waitForSelector('svg [data-task="nap"][data-status="cancelled"]');
    // Cancel is gone; what a cancelled run allows (recover, rerun) is offered instead.
    await page.waitForSelector('button[data-action="recover"]');
    expect(await page.locator('button[data-action="cancel"]').count()).toBe(0);
  });

  it('pauses a running run and resumes it', async () => {
    const { page } = c;
    const runId = await c.start('slow');
    await c.open(`#/runs/${runId}`);
    await page.waitForSelector('[data-task="nap"][data-status="waiting"]');
    await act('pause');
    await page.waitForSelector('[data-run-status="paused"]');
    expect((await c.run(runId)).status).toBe('paused');
    expect(await page.locator('button[data-action="pause"]').count()).toBe(0);
    await act('resume');
    await page.waitForSelector('[data-run-status="running"]');
    const run = await c.run(runId);
    expect(run.status).toBe('running');
    expect(run.tasks.find((t: { name: string }) => t.name === 'nap').status).toBe('waiting');
    await page.waitForSelector('button[data-action="pause"]');
  });

  it('marks a task succeeded with an output: bad JSON shows an error and sends nothing', async () => {
    const { page } = c;
    const runId = await c.start('slow');
    await c.open(`#/runs/${runId}/tasks/nap`);
    await page.waitForSelector('[data-task="nap"][data-status="waiting"]');
    const field = page.getByLabel('Output to record (JSON)');
    const sent = posts();
    await field.fill('{"rows": 3');
    await page.waitForSelector('[data-complete-error]');
    expect(await page.locator('button[data-action="complete"]').isDisabled()).toBe(true);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(sent.sent).toEqual([]);
    expect((await c.run(runId)).tasks[0].status).toBe('waiting');
    await field.fill('{"rows": 3}');
    expect(await page.locator('[data-complete-error]').count()).toBe(0);
    await act('complete');
    // The run goes on from the marked task, to its end.
    await page.waitForSelector('[data-run-status="succeeded"]');
    sent.stop();
    expect(sent.sent).toEqual([`/runs/${runId}/tasks/nap/complete`]);
    const run = await c.run(runId);
    expect(run.status).toBe('succeeded');
    const nap = run.tasks.find((t: { name: string }) => t.name === 'nap');
    expect([nap.status, nap.output, nap.attempts.at(-1).marked]).toEqual(['succeeded', { rows: 3 }, true]);
  });

  it('recovers a failed run: the failed task runs again in the same run', async () => {
    const { page } = c;
    const runId = await c.start('fails');
    await c.h.waitForRun(runId, SLOW);
    await c.open(`#/runs/${runId}`);
    await page.waitForSelector('[data-run-status="failed"]');
    await act('recover');
    const run = await eventually(async () => {
      const r = await c.run(runId);
      return r.recoveries === 1 && r.status === 'failed' && r.tasks[0].attempts.length === 2 ? r : undefined;
    }, 'a recovered run that failed again');
    expect(run.tasks[0].attempts.map((a: { status: string }) => a.status)).toEqual(['failed', 'failed']);
    await page.waitForSelector('.timeline [data-task="bad"][data-attempt="2"]');
  });

  it('runs one task of a succeeded run again from its panel', async () => {
    const { page } = c;
    const runId = await c.start('once');
    await c.h.waitForRun(runId, SLOW);
    await c.open(`#/runs/${runId}/tasks/only`);
    await page.waitForSelector('[data-run-status="succeeded"]');
    // A succeeded run recovers only named tasks: no run-wide button.
    expect(await page.locator('button[data-action="recover"]').count()).toBe(0);
    await act('recover-task');
    const run = await eventually(async () => {
      const r = await c.run(runId);
      return r.recoveries === 1 && r.status === 'succeeded' && r.tasks[0].attempts.length === 2 ? r : undefined;
    }, 'the task ran twice');
    expect(run.tasks[0].status).toBe('succeeded');
    await page.waitForSelector('.timeline [data-task="only"][data-attempt="2"]');
  });

  it('reruns a run as a new run, and opens it', async () => {
    const { page } = c;
    const runId = await c.start('once');
    await c.h.waitForRun(runId, SLOW);
    await c.open(`#/runs/${runId}`);
    await act('rerun');
    await page.waitForURL((u) => /#\/runs\/[^/]+$/.test(u.hash) && !u.hash.includes(runId));
    const newId = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    await page.waitForSelector(`[data-run="${newId}"]`);
    const rerun = await c.h.waitForRun(newId, SLOW);
    expect([rerun.workflow, rerun.status]).toEqual(['once', 'succeeded']);
    expect(newId).not.toBe(runId);
    // The old run is as it was.
    expect((await c.run(runId)).recoveries ?? 0).toBe(0);
  });
}
