import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { listParked } from '../../functions/store/parked.js';
import { createRun } from '../../functions/store/runs.js';
import { api, Cluster, clusterEnv, configFor, entry, freshTable, TERMINAL, waitFor } from '../crash/support.js';

const MAX = 3;
let cluster: Cluster | undefined;
afterEach(async ({ task }) => {
  if (cluster && task.result?.state === 'fail') cluster.keep = true;
  await cluster?.stopAll();
  cluster = undefined;
});

/**
 * Issue 10 with real processes: a poison run (its handling throws every time), a run whose task output
 * DynamoDB refuses, and healthy runs, with the engine SIGKILLed while it is still retrying the poison
 * record and restarted. Every healthy run succeeds; each bad one ends `failed` with its reason; the
 * poison record's failures stay bounded across the restart.
 */
describe('poisoned runs with the engine killed mid-way', () => {
  it('healthy runs succeed; the poisoned ones fail with their reasons; retries stay bounded across the restart', async () => {
    const { endpoint, table } = await freshTable('poison');
    const env = clusterEnv(endpoint, table, {
      BATON_LAMBDA_MAP: fileURLToPath(new URL('./fixtures/lambda-map.json', import.meta.url)),
      BATON_STREAM_MAX_ATTEMPTS: String(MAX),
      // Leases long enough that a loaded machine does not turn slow noop tasks into lost attempts.
      BATON_LEASE_MS: '5000',
      BATON_HEARTBEAT_MS: '1000',
      // Slow enough retries that the kill lands while the poison record is still being retried.
      BATON_STREAM_RETRY_BASE_MS: '200',
    });
    cluster = new Cluster(table, env);
    const a = api(configFor(table, env));
    await entry();
    await a.put({
      name: 'chain',
      tasks: { a: { type: 'noop', output: 1 }, b: { type: 'noop', after: ['a'] }, c: { type: 'noop', after: ['b'] } },
    });
    await a.put({ name: 'deep', tasks: { a: { type: 'lambda', function: 'deep', payload: { depth: 40 }, timeout: '1h' } } });
    const engine = await cluster.add('engine', 'master,worker,sweeper');
    await engine.start();
    const poisoned = `poison-${randomUUID()}`;
    await createRun(a.deps.db, {
      runId: poisoned,
      workflow: 'chain',
      version: 99,
      params: {},
      createdAt: Date.now(),
      trigger: { type: 'api' },
      depth: 0,
    });
    const deep = await a.start('deep');
    const healthy = await Promise.all(Array.from({ length: 3 }, () => a.start('chain')));

    // Kill once the poison record has failed at least once but is not parked yet.
    await waitFor(
      'the poison record to fail',
      async () => (await listParked(a.deps.db)).some((p) => p.runId === poisoned && p.parkedAt === undefined),
      60_000,
      20,
    );
    await engine.kill();
    const more = await Promise.all(Array.from({ length: 1 }, () => a.start('chain')));
    await engine.start();

    const all = [poisoned, deep, ...healthy, ...more];
    const runs = await waitFor(
      'every run to finish',
      async () => {
        const rs = await Promise.all(all.map(async (id) => (await a.request('GET', `/runs/${id}`)).body));
        return rs.every((r) => TERMINAL.has(r?.status)) && rs;
      },
      240_000,
    );
    const [p, d, ...ok] = runs;
    for (const r of ok) expect(r.status, JSON.stringify(r.failure)).toBe('succeeded');
    expect(p.status).toBe('failed');
    expect(p.failure).toMatchObject({ reason: 'engine_error' });
    expect(p.failure.message).toMatch(/definition chain v99 not found/);
    expect(d.status).toBe('failed');
    expect(d.failure).toMatchObject({ task: 'a', reason: 'output_unstorable' });

    // Every record of the poisoned run that kept failing was parked after exactly MAX failures, the
    // kill notwithstanding (the count lives in the table, not in the killed process).
    await waitFor(
      'the poison records to be parked',
      async () => {
        const ps = (await listParked(a.deps.db)).filter((x) => x.runId === poisoned);
        return ps.length > 0 && ps.every((x) => x.parkedAt !== undefined);
      },
      60_000,
    );
    for (const x of (await listParked(a.deps.db)).filter((y) => y.runId === poisoned)) expect(x.failures).toBe(MAX);
    expect(engine.incarnation).toBe(2);
  }, 420_000);
});
