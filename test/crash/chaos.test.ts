import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { getRun } from '../../functions/store/runs.js';
import {
  type Cluster,
  checkInvariants,
  type Item,
  median,
  type Proc,
  parseLog,
  percentile,
  scanTable,
  sleep,
  startCluster,
  stopClusters,
  TERMINAL,
} from './support.js';

/**
 * Chaos: two full-role processes (master, worker, sweeper), a worker-only and a sweeper-only process,
 * separate OS processes on one DynamoDB Local table. Many workflows with nested sub-workflows (4
 * levels, fan-out, retries, non-retryable failures, waits) run while every process has random crash
 * points armed (`BATON_CRASH=*=p`) and the test SIGKILLs random processes at random times, restarting
 * each one that dies. Then, calm: every run must finish within a bound, and the table must satisfy the
 * failover invariants.
 *
 * In `npm test` it injects about 70 crashes in at most 45 s, to keep the whole suite near five minutes on
 * two cores (at 120 crashes in 75 s, its processes and their restarts took a quarter of the suite's CPU,
 * 2026-12-06). Scale it by hand (no npm script needed), e.g. thousands of crashes:
 *   CHAOS_CRASHES=3000 CHAOS_RUNS=400 CHAOS_MAX_MS=1800000 CHAOS_SEED=42 npx vitest run test/crash/chaos.test.ts
 * Knobs: CHAOS_SEED (printed; replays the same choices), CHAOS_RUNS (root workflows, at least),
 * CHAOS_CRASHES (crashes to inject, kills and crash points together), CHAOS_P (probability of dying
 * at any crash point, default 0.025), CHAOS_CRASH_SPEC (the whole BATON_CRASH value, default
 * `*=P,after:create:CHILD=0.25,after:create:RUN=0.1`), CHAOS_KILL_MS (`min-max` pause between kills,
 * default 1000-3000), CHAOS_KILL_PROGRESS (transitions required between two kills, default 10),
 * CHAOS_WATCHDOG_MS and CHAOS_RECHECK_MS (default 10000),
 * CHAOS_WINDOW (root workflows in flight), CHAOS_MAX_MS (cap on the chaos phase), CHAOS_SETTLE_MS
 * (bound for every run to finish once the chaos stops), CHAOS_KEEP (keep the logs directory).
 */

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SEED = num('CHAOS_SEED', Math.floor(Math.random() * 1e9));
const RUNS = num('CHAOS_RUNS', 24);
const CRASHES = num('CHAOS_CRASHES', 70);
const P = num('CHAOS_P', 0.025);
// Crash points at the sub-workflow boundaries (linkage written, child run written) are the seed bug's
// territory: they are armed with a higher probability than the rest.
const CRASH_SPEC = process.env.CHAOS_CRASH_SPEC ?? `*=${P},after:create:CHILD=0.25,after:create:RUN=0.1`;
const [KILL_MIN, KILL_MAX] = (process.env.CHAOS_KILL_MS ?? '1000-3000').split('-').map(Number) as [number, number];
const KILL_PROGRESS = num('CHAOS_KILL_PROGRESS', 10);
const WINDOW = num('CHAOS_WINDOW', 8);
const MAX_MS = num('CHAOS_MAX_MS', 45_000);
const SETTLE_MS = num('CHAOS_SETTLE_MS', 120_000);
const LEASE_MS = 1500;
// Every running run's watchdog and every waiting parent's re-check is a due item that each sweep
// handles (a whole-run read, or a claim and a suspension); at 3 s they dominate the load on 2 cores.
const WATCHDOG_MS = num('CHAOS_WATCHDOG_MS', 10_000);
const RECHECK_MS = num('CHAOS_RECHECK_MS', 10_000);

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFINITIONS = [
  {
    name: 'leaf',
    params: { n: { type: 'integer', required: true } },
    tasks: { a: { type: 'noop', output: '${params.n}' }, b: { type: 'noop', after: ['a'], output: '${tasks.a.output}' } },
  },
  {
    name: 'leafwait',
    params: { n: { type: 'integer', required: true } },
    tasks: { w: { type: 'wait', duration: '300ms' }, b: { type: 'noop', after: ['w'], output: '${params.n}' } },
  },
  {
    name: 'mid',
    params: { n: { type: 'integer', required: true } },
    tasks: {
      s1: { type: 'subworkflow', workflow: 'leaf', params: { n: '${params.n}' } },
      s2: { type: 'subworkflow', workflow: 'leafwait', params: { n: '${params.n}' } },
      j: { type: 'noop', after: ['s1', 's2'], output: ['${tasks.s1.output.b}', '${tasks.s2.output.b}'] },
    },
  },
  {
    name: 'top',
    params: { n: { type: 'integer', required: true } },
    tasks: {
      m1: { type: 'subworkflow', workflow: 'mid', params: { n: '${params.n}' } },
      m2: { type: 'subworkflow', workflow: 'mid', params: { n: '${params.n}' } },
      j: { type: 'noop', after: ['m1', 'm2'], output: ['${tasks.m1.output.j}', '${tasks.m2.output.j}'] },
    },
  },
  {
    name: 'deep',
    params: { n: { type: 'integer', required: true } },
    tasks: { d: { type: 'subworkflow', workflow: 'top', params: { n: '${params.n}' } } },
  },
  { name: 'leaffail', tasks: { f: { type: 'fail', message: 'leaf broken', retryable: false, retry: { attempts: 3, delay: '100ms' } } } },
  {
    name: 'failnr',
    tasks: {
      pre: { type: 'noop' },
      s: { type: 'subworkflow', workflow: 'leaffail', after: ['pre'], retry: { attempts: 2, delay: '200ms' } },
      post: { type: 'noop', after: ['s'] },
    },
  },
  { name: 'leafretry', tasks: { f: { type: 'fail', message: 'flaky', retry: { attempts: 3, delay: '100ms' } } } },
  { name: 'midfail', tasks: { x: { type: 'subworkflow', workflow: 'leafretry' }, y: { type: 'noop' } } },
  { name: 'failr', tasks: { s: { type: 'subworkflow', workflow: 'midfail' } } },
  {
    // A fan-out: r's worker claims the three branches with the writes that queue them and runs them side
    // by side (eager dispatch), each starting a child: one child per attempt must hold there too.
    name: 'fanned',
    params: { n: { type: 'integer', required: true } },
    tasks: {
      r: { type: 'noop' },
      s1: { type: 'subworkflow', workflow: 'leaf', after: ['r'], params: { n: '${params.n}' } },
      s2: { type: 'subworkflow', workflow: 'leaf', after: ['r'], params: { n: '${params.n}' } },
      s3: { type: 'subworkflow', workflow: 'leaf', after: ['r'], params: { n: '${params.n}' } },
      j: { type: 'noop', after: ['s1', 's2', 's3'], output: ['${tasks.s1.output.b}', '${tasks.s2.output.b}', '${tasks.s3.output.b}'] },
    },
  },
  {
    name: 'waity',
    params: { n: { type: 'integer', required: true } },
    tasks: {
      w: { type: 'wait', duration: '500ms' },
      s: { type: 'subworkflow', workflow: 'leaf', after: ['w'], params: { n: '${params.n}' } },
    },
  },
];

interface Shape {
  readonly workflow: string;
  readonly weight: number;
  readonly params: boolean;
  /** Runs in the tree of one root run (the root included). */
  readonly runs: number;
  check(run: Item, n: number): string | undefined;
}

const quad = (n: number) => ({
  j: [
    [n, n],
    [n, n],
  ],
});
const SHAPES: Shape[] = [
  {
    workflow: 'deep',
    weight: 4,
    params: true,
    runs: 8,
    check: (r, n) =>
      r.status === 'succeeded' && JSON.stringify(r.output) === JSON.stringify({ d: quad(n) })
        ? undefined
        : 'expected succeeded with the nested outputs',
  },
  {
    workflow: 'waity',
    weight: 2,
    params: true,
    runs: 2,
    check: (r, n) =>
      r.status === 'succeeded' && JSON.stringify(r.output) === JSON.stringify({ s: { b: n } }) ? undefined : 'expected succeeded',
  },
  {
    workflow: 'fanned',
    weight: 2,
    params: true,
    runs: 4,
    check: (r, n) =>
      r.status === 'succeeded' && JSON.stringify(r.output) === JSON.stringify({ j: [n, n, n] })
        ? undefined
        : 'expected succeeded with [n, n, n]',
  },
  {
    workflow: 'failnr',
    weight: 1,
    params: false,
    runs: 3,
    check: (r) =>
      r.status === 'failed' && r.failure?.task === 's' && r.failure?.reason === 'child_failed'
        ? undefined
        : 'expected failed at s (child_failed)',
  },
  {
    workflow: 'failr',
    weight: 1,
    params: false,
    runs: 3,
    check: (r) =>
      r.status === 'failed' && r.failure?.task === 's' && r.failure?.reason === 'child_failed'
        ? undefined
        : 'expected failed at s (child_failed)',
  },
];

stopClusters('all');

it(
  `chaos: crash points and SIGKILLs across masters, workers and sweepers (seed ${SEED})`,
  async () => {
    console.log(`chaos seed ${SEED} (replay with CHAOS_SEED=${SEED})`);
    const rnd = prng(SEED);
    const between = (a: number, b: number) => a + rnd() * (b - a);
    const { cluster: c, api: a } = await startCluster(
      {
        BATON_LEASE_MS: String(LEASE_MS),
        BATON_MAX_LOST: '1000',
        BATON_WATCHDOG_MS: String(WATCHDOG_MS),
        BATON_RECHECK_MS: String(RECHECK_MS),
        BATON_POLL_IDLE_MS: '50',
      },
      'chaos',
    );
    c.keep ||= process.env.CHAOS_KEEP === '1';
    for (const d of DEFINITIONS) await a.put(d);
    const crashLog = join(c.dir, 'crashes.log');
    const slots: Proc[] = [
      await c.add('full1', 'master,worker,sweeper'),
      await c.add('full2', 'master,worker,sweeper'),
      await c.add('worker1', 'worker'),
      await c.add('sweeper1', 'sweeper'),
    ];

    let armed = true;
    let stopping = false;
    const killedByUs = new Set<number>();
    const calmKilled = new Set<number>();
    const deaths: {
      name: string;
      pid: number;
      at: number;
      cause: 'kill' | 'calm restart' | 'crash point' | 'unexpected';
      detail: string;
    }[] = [];
    const envFor = (p: Proc, incarnation: number): Record<string, string> => {
      const index = slots.indexOf(p);
      const crash: Record<string, string> = armed
        ? {
            BATON_CRASH: CRASH_SPEC,
            BATON_CRASH_SEED: String((SEED * 997 + index * 101 + incarnation * 7) >>> 0),
            BATON_CRASH_LOG: crashLog,
          }
        : {};
      const checkpoint: Record<string, string> = p.roles.includes('master')
        ? { BATON_STREAM_CHECKPOINT: join(c.dir, `${p.name}.stream.json`) }
        : {};
      return { ...crash, ...checkpoint };
    };
    // Each start wakes the slot's warm spare when there is one, and loads the next spare.
    const startSlot = (p: Proc): void => {
      p.start(envFor(p, p.incarnation + 1)).catch(() => {});
      if (!stopping) p.spare(envFor(p, p.incarnation + 1)).catch(() => {});
    };
    for (const p of slots) {
      p.whenExited((pid, e) => {
        const cause = calmKilled.has(pid)
          ? 'calm restart'
          : killedByUs.has(pid)
            ? 'kill'
            : e.signal === 'SIGKILL'
              ? 'crash point'
              : 'unexpected';
        if (!stopping || cause !== 'unexpected') deaths.push({ name: p.name, pid, at: e.at, cause, detail: `${e.code ?? e.signal}` });
        if (!stopping) setTimeout(() => !stopping && !p.alive && startSlot(p), between(100, 500));
      });
      startSlot(p);
    }
    await Promise.all(slots.map((p) => waitReady(p)));

    const crashPoints = () => (existsSync(crashLog) ? readFileSync(crashLog, 'utf8').split('\n').filter(Boolean).length : 0);
    const kills = () => deaths.filter((d) => d.cause === 'kill').length;
    const injected = () => kills() + crashPoints();

    // The killer: SIGKILL a random live process every KILL_MIN..KILL_MAX ms, paced by progress: at
    // least KILL_PROGRESS transitions (anywhere) between two kills, so that a slow machine still makes
    // progress between kills instead of spending the test restarting processes.
    let transitions = 0;
    for (const p of slots) p.onLine((line) => line.includes(' transition"') && transitions++);
    let chaos = true;
    const killer = (async () => {
      while (chaos) {
        const until = Date.now() + between(KILL_MIN, KILL_MAX);
        const after = transitions + KILL_PROGRESS;
        while (chaos && (Date.now() < until || transitions < after)) await sleep(100);
        const live = slots.filter((p) => p.alive && p.ready);
        const victim = live[Math.floor(rnd() * live.length)];
        if (!chaos || !victim?.pid) continue;
        killedByUs.add(victim.pid);
        victim.signal('SIGKILL');
      }
    })();

    // Submit root workflows, keeping WINDOW of them in flight, until both targets are met.
    const roots: { runId: string; shape: Shape; n: number; submittedAt: number; endedAt?: number; status?: string }[] = [];
    const totalWeight = SHAPES.reduce((s, x) => s + x.weight, 0);
    const pickShape = () => {
      let r = rnd() * totalWeight;
      for (const s of SHAPES) {
        r -= s.weight;
        if (r < 0) return s;
      }
      return SHAPES[0] as Shape;
    };
    const began = Date.now();
    const inFlight = () => roots.filter((r) => !r.status || !TERMINAL.has(r.status));
    const refresh = async () => {
      await Promise.all(
        inFlight().map(async (r) => {
          const run = await getRun(a.deps.db, r.runId);
          if (run && TERMINAL.has(run.status)) {
            r.status = run.status;
            r.endedAt = run.endedAt;
          }
        }),
      );
    };
    let lastReport = began;
    while ((roots.length < RUNS || injected() < CRASHES) && Date.now() - began < MAX_MS) {
      await refresh();
      while (inFlight().length < WINDOW) {
        const shape = pickShape();
        const n = Math.floor(rnd() * 1000);
        roots.push({ runId: await a.start(shape.workflow, shape.params ? { n } : undefined), shape, n, submittedAt: Date.now() });
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        const done = roots.length - inFlight().length;
        console.log(
          `chaos +${Math.round((Date.now() - began) / 1000)}s: roots ${done}/${roots.length} done, crashes ${kills()} kills + ${crashPoints()} crash points`,
        );
      }
      await sleep(250);
    }
    const chaosMs = Date.now() - began;

    // Calm: stop killing, disarm crash points (restart every armed process unarmed), let everything finish.
    chaos = false;
    await killer;
    armed = false;
    await Promise.all(slots.map((p) => p.spare(envFor(p, p.incarnation + 1))));
    for (const p of slots) {
      if (p.alive && p.pid) {
        calmKilled.add(p.pid);
        p.signal('SIGKILL');
      }
    }
    const calmAt = Date.now();
    let settled = false;
    while (Date.now() - calmAt < SETTLE_MS) {
      await refresh();
      if (inFlight().length === 0) {
        const items = await scanTable(a.deps);
        if (items.filter((i) => i.kind === 'run').every((r) => TERMINAL.has(r.status))) {
          settled = true;
          break;
        }
      }
      await sleep(500);
    }
    const settleMs = Date.now() - calmAt;
    stopping = true;
    for (const p of slots) await p.stop();

    // ---- checks ---------------------------------------------------------------------------------
    const items = await scanTable(a.deps);
    const report = checkInvariants(items, { allTerminal: true });
    const runsById = new Map(items.filter((i) => i.kind === 'run').map((r) => [r.runId as string, r]));
    const childrenOf = new Map<string, Item[]>();
    for (const r of runsById.values()) if (r.parent) childrenOf.set(r.parent.runId, [...(childrenOf.get(r.parent.runId) ?? []), r]);
    const treeSize = (id: string): number => 1 + (childrenOf.get(id) ?? []).reduce((s, ch) => s + treeSize(ch.runId), 0);
    const outcome: string[] = [];
    for (const r of roots) {
      const run = runsById.get(r.runId);
      const why = run ? r.shape.check(run, r.n) : 'missing';
      if (why)
        outcome.push(
          `${r.shape.workflow} ${r.runId} (n=${r.n}): ${why}; got ${run?.status} ${JSON.stringify(run?.output ?? run?.failure)}`,
        );
      const size = treeSize(r.runId);
      if (size !== r.shape.runs) outcome.push(`${r.shape.workflow} ${r.runId}: ${size} runs in its tree, expected ${r.shape.runs}`);
    }
    const unexpected = deaths.filter((d) => d.cause === 'unexpected');
    const durations = roots.map((r) => (r.endedAt ?? Date.now()) - r.submittedAt);
    const crashByPoint = new Map<string, number>();
    if (existsSync(crashLog)) {
      for (const line of readFileSync(crashLog, 'utf8').split('\n').filter(Boolean)) {
        const point = line.split(' ')[1] as string;
        crashByPoint.set(point, (crashByPoint.get(point) ?? 0) + 1);
      }
    }
    const progress = killToProgress(c, slots, deaths);
    const maxLost = Math.max(0, ...items.filter((i) => i.kind === 'task').map((t) => t.lost ?? 0));
    const summary = {
      seed: SEED,
      roots: roots.length,
      rootsByShape: Object.fromEntries(SHAPES.map((s) => [s.workflow, roots.filter((r) => r.shape === s).length])),
      runs: report.runs,
      childRuns: report.childRuns,
      tasks: report.tasks,
      attemptRecords: report.attemptRecords,
      lostRecords: report.lostRecords,
      maxLostPerTask: maxLost,
      crashes: {
        total: injected(),
        kills: kills(),
        crashPoints: crashPoints(),
        byPoint: Object.fromEntries([...crashByPoint].sort((x, y) => y[1] - x[1])),
      },
      restarts: slots.reduce((s, p) => s + p.incarnation - 1, 0),
      startupMs: {
        warm: median(slots.flatMap((p) => p.startups.filter((x) => x.warm).map((x) => x.ms))),
        cold: median(slots.flatMap((p) => p.startups.filter((x) => !x.warm).map((x) => x.ms))),
        warmStarts: slots.reduce((n, p) => n + p.startups.filter((x) => x.warm).length, 0),
      },
      invariantChecks: report.checks,
      chaosMs,
      settleMs,
      runDurationMs: { median: median(durations), max: Math.max(...durations) },
      killToProgress: progress,
      leaseMs: LEASE_MS,
      logs: c.dir,
    };
    writeFileSync(join(c.dir, 'summary.json'), JSON.stringify(summary, null, 2));
    console.log(`chaos summary (seed ${SEED}):\n${JSON.stringify(summary, null, 2)}`);
    const tag = `seed ${SEED}, logs in ${c.dir}`;
    expect(unexpected, `processes that died on their own (${tag})`).toEqual([]);
    expect(settled, `every run terminal within ${SETTLE_MS} ms of the calm (${tag})`).toBe(true);
    expect(report.violations, `invariants (${tag})`).toEqual([]);
    expect(outcome, `expected outcomes (${tag})`).toEqual([]);
    expect(roots.length).toBeGreaterThanOrEqual(Math.min(RUNS, 1));
  },
  MAX_MS + SETTLE_MS + 180_000,
);

async function waitReady(p: Proc) {
  for (let i = 0; i < 600 && !p.ready; i++) await sleep(100);
  if (!p.ready) throw new Error(`${p.name} did not start`);
}

/**
 * For every death of a process that held attempts (claimed, not yet ended, per its own log), the time
 * until the attempt's next transition anywhere (the sweeper reclaiming it), and until a new holder
 * claimed it.
 */
function killToProgress(c: Cluster, slots: Proc[], deaths: { name: string; pid: number; at: number }[]) {
  const lines = new Map<string, { pid: number; line: Item }[]>();
  const all: Item[] = [];
  for (const p of slots) {
    const file = join(c.dir, `${p.name}.log`);
    if (!existsSync(file)) continue;
    let pid = 0;
    const mine: { pid: number; line: Item }[] = [];
    for (const l of parseLog(readFileSync(file, 'utf8'))) {
      if (l.msg === 'process ready') pid = l.pid;
      l.t = Date.parse(l.time);
      l.pid = pid;
      mine.push({ pid, line: l });
      all.push(l);
    }
    lines.set(p.name, mine);
  }
  const byTask = new Map<string, Item[]>();
  for (const l of all) {
    if (!l.run || !l.task) continue;
    const k = `${l.run}/${l.task}`;
    const list = byTask.get(k);
    if (list) list.push(l);
    else byTask.set(k, [l]);
  }
  for (const ls of byTask.values()) ls.sort((x, y) => x.t - y.t);
  const reclaim: number[] = [];
  const reclaimed: number[] = [];
  for (const d of deaths) {
    const held = new Map<string, number>();
    for (const { pid, line: l } of lines.get(d.name) ?? []) {
      if (pid !== d.pid || !l.run || !l.task) continue;
      const k = `${l.run}/${l.task}`;
      if (l.msg === 'task transition' && l.from === 'queued' && l.to === 'running') held.set(k, l.fence);
      else if ((l.msg === 'task transition' && l.from === 'running') || String(l.msg).startsWith('lease lost')) held.delete(k);
    }
    for (const [k, fence] of held) {
      const later = (byTask.get(k) ?? []).filter((l) => l.t >= d.at - 5);
      const next = later.find((l) => l.pid !== d.pid && (l.msg === 'task transition' || l.msg === 'lease expired; attempt lost'));
      const claim = later.find((l) => l.pid !== d.pid && l.msg === 'task transition' && l.to === 'running' && l.fence > fence);
      if (next) reclaim.push(next.t - d.at);
      if (claim) reclaimed.push(claim.t - d.at);
    }
  }
  return {
    samples: reclaim.length,
    toNextTransitionMs: { median: median(reclaim), p90: percentile(reclaim, 90) },
    toNewHolderMs: { median: median(reclaimed), p90: percentile(reclaimed, 90) },
  };
}
