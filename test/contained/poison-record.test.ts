import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../functions/common/logger.js';
import { listParked, noteRecordFailure, parkRecord } from '../../functions/store/parked.js';
import { createRun } from '../../functions/store/runs.js';
import { attachHarness, type Harness, startHarness } from '../support/harness.js';

/** A logger that keeps every line, to count what the engine says about a poison record. */
function capture() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  let lastStream = 0;
  const write = (s: string) => {
    const line = JSON.parse(s);
    if (/stream record/.test(line.msg)) lastStream = Date.now();
    lines.push(line);
  };
  const log = pino({ level: 'debug' }, { write }) as unknown as Logger;
  return { log, lines, count: (msg: string) => lines.filter((l) => l.msg === msg).length, lastStreamLine: () => lastStream };
}

const MAX = 3;
const stream = { streamMaxAttempts: MAX, streamRetryBaseMs: 20 };

/**
 * A poison stream record (one whose handling throws every time: here a run whose pinned definition
 * version does not exist, written straight through the store) costs its run, not the shard: it is
 * retried a bounded number of times, parked in the table, its run fails with `engine_error`, the
 * runs around it go on, and a restart on the same table does not take it up again.
 */
describe('a poison stream record', () => {
  let h: Harness | undefined;
  afterAll(() => h?.stop());

  async function put(hh: Harness, name: string) {
    const r = await hh.request('PUT', `/workflows/${name}`, {
      name,
      tasks: { a: { type: 'noop', output: 1 }, b: { type: 'noop', after: ['a'] } },
    });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  }
  async function start(hh: Harness, name: string) {
    const r = await hh.request('POST', `/workflows/${name}/runs`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.runId as string;
  }
  function poison(hh: Harness, workflow: string) {
    const runId = `poison-${randomUUID()}`;
    return createRun(hh.runtime.deps.db, {
      runId,
      workflow,
      version: 999,
      params: {},
      createdAt: Date.now(),
      trigger: { type: 'api' },
      depth: 0,
    }).then(() => runId);
  }

  it('is retried a bounded number of times, parked, its run failed with engine_error; a restart does not retry it', async () => {
    const first = capture();
    h = await startHarness({}, { ...stream, deps: { log: first.log } });
    await put(h, 'healthy');
    await put(h, 'other');
    const bad = await poison(h, 'other');
    const ok = await start(h, 'healthy');
    const [run, healthy] = await Promise.all([h.waitForRun(bad, 60_000), h.waitForRun(ok, 60_000)]);
    expect(healthy.status).toBe('succeeded');
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: '(run)', reason: 'engine_error' });
    expect(run.failure.message).toMatch(/definition other v999 not found/);

    // Each of the run's records that kept failing (its start, and its end: the definition is missing for
    // both) is parked after exactly MAX handlings; wait until the last one is, then for quiet.
    const db = h.runtime.deps.db;
    const settled = async () => {
      const ps = (await listParked(db)).filter((p) => p.runId === bad);
      const quiet = Date.now() - first.lastStreamLine() > 1500;
      return quiet && ps.length > 0 && ps.every((p) => p.parkedAt !== undefined) ? ps : undefined;
    };
    const parked = await waitFor(settled);
    expect(parked.length).toBeGreaterThanOrEqual(1);
    for (const p of parked) {
      expect(p.failures).toBe(MAX);
      expect(p.lastError).toMatch(/v999 not found/);
    }
    // Every failed handling but the last is logged as a failure to retry; the parking once per record.
    expect(first.count('stream record failed')).toBe(parked.length * (MAX - 1));
    expect(first.count('stream record parked after failing every attempt; failing its run')).toBe(parked.length);

    // A restart on the same table replays the stream from its trim horizon: nothing fails again.
    await h.stop();
    const second = capture();
    h = attachHarness(h.config, { ...stream, deps: { log: second.log } });
    const after = await start(h, 'healthy');
    expect((await h.waitForRun(after, 60_000)).status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 500));
    expect(second.count('stream record failed')).toBe(0);
    expect(second.count('stream record parked after failing every attempt; failing its run')).toBe(0);
    for (const p of (await listParked(h.runtime.deps.db)).filter((p) => p.runId === bad)) expect(p.failures).toBe(MAX);
  }, 180_000);

  it('a record parked before a crash (its run not failed yet) is skipped at its first failure, and its run failed', async () => {
    const config = (h as Harness).config;
    await h?.stop();
    // The table as a crash between parking a record and failing its run leaves it. A record's id is
    // known only once the stream delivers it: let a runtime that never gives up see it fail once, then
    // park it by hand through the store.
    const seen = capture();
    h = attachHarness(config, { deps: { log: seen.log }, streamMaxAttempts: 1_000_000 });
    await put(h, 'third');
    const bad = await poison(h, 'third');
    const noted = await waitFor(async () => (await listParked((h as Harness).runtime.deps.db)).find((p) => p.runId === bad));
    await h.stop();
    const db = h.runtime.deps.db;
    expect(await parkRecord(db, noted.recordId, Date.now())).toBeDefined();
    expect(await noteRecordFailure(db, { recordId: noted.recordId, runId: bad, error: 'again' }, Date.now())).toBeUndefined();

    const log = capture();
    h = attachHarness(config, { ...stream, deps: { log: log.log } });
    const run = await h.waitForRun(bad, 60_000);
    expect(run.status).toBe('failed');
    expect(run.failure).toMatchObject({ task: '(run)', reason: 'engine_error' });
    // The parked record itself is not retried (the run's own end is a new record, with its own count).
    expect(log.lines.filter((l) => l.msg === 'stream record failed' && l.sequence === noted.sequence)).toHaveLength(0);
    expect(log.count('parked stream record skipped')).toBeGreaterThanOrEqual(1);
  }, 180_000);
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
