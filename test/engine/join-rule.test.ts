import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideJoin, type Outcome, TRIGGER_RULES, type TriggerRule } from '../../functions/engine/flow/join-rule.js';

// S = succeeded, F = failed (or Airflow's upstream_failed), K = skipped.
const O: Record<string, Outcome> = { S: 'succeeded', F: 'failed', K: 'skipped' };
const ups = (s: string) => [...s].map((c) => O[c] as Outcome);
const fate = (rule: TriggerRule, s: string) => {
  const d = decideJoin(rule, ups(s));
  return d.kind === 'skip' ? (d.upstreamFailed ? 'upstream_failed' : 'skipped') : d.kind;
};

/**
 * Airflow's documented trigger rules, once every upstream task has settled:
 *   all_success: all upstream succeeded; a failed upstream → upstream_failed, else a skipped one → skipped.
 *   all_failed:  all upstream failed or upstream_failed; otherwise skipped.
 *   all_done:    all upstream done, whatever their state.
 *   one_success: at least one succeeded; if all were skipped → skipped, otherwise upstream_failed.
 *   one_failed:  at least one failed or upstream_failed; otherwise skipped.
 *   none_failed: no upstream failed or upstream_failed (succeeded or skipped); otherwise upstream_failed.
 */
const TABLE: Record<string, Record<TriggerRule, string>> = {
  S: { all_succeeded: 'run', all_done: 'run', one_succeeded: 'run', all_failed: 'skipped', one_failed: 'skipped', none_failed: 'run' },
  F: {
    all_succeeded: 'upstream_failed',
    all_done: 'run',
    one_succeeded: 'upstream_failed',
    all_failed: 'run',
    one_failed: 'run',
    none_failed: 'upstream_failed',
  },
  K: {
    all_succeeded: 'skipped',
    all_done: 'run',
    one_succeeded: 'skipped',
    all_failed: 'skipped',
    one_failed: 'skipped',
    none_failed: 'run',
  },
  SS: { all_succeeded: 'run', all_done: 'run', one_succeeded: 'run', all_failed: 'skipped', one_failed: 'skipped', none_failed: 'run' },
  SF: {
    all_succeeded: 'upstream_failed',
    all_done: 'run',
    one_succeeded: 'run',
    all_failed: 'skipped',
    one_failed: 'run',
    none_failed: 'upstream_failed',
  },
  SK: { all_succeeded: 'skipped', all_done: 'run', one_succeeded: 'run', all_failed: 'skipped', one_failed: 'skipped', none_failed: 'run' },
  FF: {
    all_succeeded: 'upstream_failed',
    all_done: 'run',
    one_succeeded: 'upstream_failed',
    all_failed: 'run',
    one_failed: 'run',
    none_failed: 'upstream_failed',
  },
  FK: {
    all_succeeded: 'upstream_failed',
    all_done: 'run',
    one_succeeded: 'upstream_failed',
    all_failed: 'skipped',
    one_failed: 'run',
    none_failed: 'upstream_failed',
  },
  KK: {
    all_succeeded: 'skipped',
    all_done: 'run',
    one_succeeded: 'skipped',
    all_failed: 'skipped',
    one_failed: 'skipped',
    none_failed: 'run',
  },
  SFK: {
    all_succeeded: 'upstream_failed',
    all_done: 'run',
    one_succeeded: 'run',
    all_failed: 'skipped',
    one_failed: 'run',
    none_failed: 'upstream_failed',
  },
};

describe('join rules: truth table against Airflow', () => {
  for (const [upstream, row] of Object.entries(TABLE)) {
    for (const rule of TRIGGER_RULES) {
      it(`${rule} with upstream ${upstream} → ${row[rule]}`, () => expect(fate(rule, upstream)).toBe(row[rule]));
    }
  }

  it('every rule waits while any upstream task has not ended (one_* included: Baton does not fire early)', () => {
    for (const rule of TRIGGER_RULES) {
      expect(decideJoin(rule, ['succeeded', undefined]).kind).toBe('wait');
      expect(decideJoin(rule, [undefined, 'failed']).kind).toBe('wait');
    }
  });

  it('a task without upstream tasks runs under every rule', () => {
    for (const rule of TRIGGER_RULES) expect(decideJoin(rule, []).kind).toBe('run');
  });

  it('the skip message names the rule', () => {
    expect(decideJoin('one_failed', ['succeeded'])).toMatchObject({ kind: 'skip', message: expect.stringContaining('one_failed') });
  });
});

const outcome = fc.constantFrom<Outcome>('succeeded', 'failed', 'skipped');

/** The rules restated over counts, independently of the implementation's structure. */
function oracle(rule: TriggerRule, o: Outcome[]): string {
  const n = o.length;
  const s = o.filter((x) => x === 'succeeded').length;
  const f = o.filter((x) => x === 'failed').length;
  const ok = {
    all_succeeded: s === n,
    all_done: true,
    one_succeeded: s >= 1,
    all_failed: f === n,
    one_failed: f >= 1,
    none_failed: f === 0,
  }[rule];
  if (n === 0 || ok) return 'run';
  if (rule === 'all_succeeded' || rule === 'none_failed') return f > 0 ? 'upstream_failed' : 'skipped';
  if (rule === 'one_succeeded') return f > 0 ? 'upstream_failed' : 'skipped';
  return 'skipped';
}

describe('join rules: properties', () => {
  it('matches the count-based statement, whatever the order of the upstream tasks', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TRIGGER_RULES), fc.array(outcome, { maxLength: 8 }), fc.nat(8), (rule, o, k) => {
        const d = decideJoin(rule, o);
        const got = d.kind === 'skip' ? (d.upstreamFailed ? 'upstream_failed' : 'skipped') : d.kind;
        expect(got).toBe(oracle(rule, o));
        const rotated = [...o.slice(k % (o.length || 1)), ...o.slice(0, k % (o.length || 1))];
        expect(decideJoin(rule, rotated)).toEqual(d);
        expect(decideJoin(rule, [...o].reverse())).toEqual(d);
      }),
    );
  });

  it('never decides before every upstream task has ended', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TRIGGER_RULES),
        fc.array(fc.option(outcome, { nil: undefined }), { minLength: 1, maxLength: 8 }),
        (rule, o) => {
          fc.pre(o.includes(undefined));
          expect(decideJoin(rule, o).kind).toBe('wait');
        },
      ),
    );
  });
});
