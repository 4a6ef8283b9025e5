import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkValue,
  findLimitIssues,
  MAX_ISSUES,
  MAX_KEY_LENGTH,
  MAX_NUMBER_MAGNITUDE,
  MAX_TEXT_NESTING,
  MIN_NUMBER_MAGNITUDE,
  textNesting,
} from '../../functions/engine/limits.js';

/**
 * The limits on data that enters Baton: whatever passes them can be stored in one DynamoDB item, and
 * whatever fails is named by path and reason (the API turns these into 400s). fast-check prints the seed
 * of a failing property; re-run it with `{ seed }` in the property's options.
 */

/** `v` wrapped in `n` arrays: depth n (+ the depth of v). */
const nested = (n: number, v: unknown = 1): unknown => {
  let out = v;
  for (let i = 0; i < n; i++) out = [out];
  return out;
};

/** JSON values DynamoDB can store: finite numbers in range, well-formed strings and keys. */
const storable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0),
    fc.integer(),
    fc.double({ min: -1e100, max: 1e100, noNaN: true, noDefaultInfinity: true }).filter((d) => d === 0 || Math.abs(d) > 1e-100),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'),
      tie('value'),
      {
        maxKeys: 4,
      },
    ),
  ),
})).value;

const depth = (v: unknown): number =>
  v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depth)) : 0;

describe('findLimitIssues', () => {
  it('accepts every storable value within its depth, and reports one too deep at the level that breaks it', () => {
    fc.assert(
      fc.property(storable, fc.integer({ min: 1, max: 8 }), (v, maxDepth) => {
        const issues = findLimitIssues(v, { maxDepth });
        if (depth(v) <= maxDepth) expect(issues).toEqual([]);
        else {
          expect(issues.length).toBeGreaterThan(0);
          for (const i of issues) expect(i).toMatchObject({ message: `nested too deep: at most ${maxDepth} levels` });
          for (const i of issues) expect(i.at).toHaveLength(maxDepth);
        }
      }),
    );
  });

  it('counts containers: depth n passes a limit of n, depth n + 1 does not', () => {
    expect(findLimitIssues(nested(3), { maxDepth: 3 })).toEqual([]);
    expect(findLimitIssues(nested(4), { maxDepth: 3 })).toEqual([{ at: [0, 0, 0], message: 'nested too deep: at most 3 levels' }]);
    expect(findLimitIssues({ a: { b: {} } }, { maxDepth: 3 })).toEqual([]);
    expect(findLimitIssues({ a: { b: { c: {} } } }, { maxDepth: 3 })).toEqual([
      { at: ['a', 'b', 'c'], message: 'nested too deep: at most 3 levels' },
    ]);
  });

  it('reports a value nested 100 000 deep once, without recursing', () => {
    expect(findLimitIssues(nested(100_000), { maxDepth: 25 })).toHaveLength(1);
  });

  it('refuses numbers DynamoDB cannot store, and only those, at their path', () => {
    const ok = [0, -0, 1, -1, MAX_NUMBER_MAGNITUDE, -MAX_NUMBER_MAGNITUDE, MIN_NUMBER_MAGNITUDE, -MIN_NUMBER_MAGNITUDE];
    const bad = [1e126, -1e126, 9e-131, -9e-131, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    expect(findLimitIssues(ok, { maxDepth: 2 })).toEqual([]);
    const issues = findLimitIssues({ n: bad }, { maxDepth: 3 });
    expect(issues.map((i) => i.at)).toEqual(bad.map((_, i) => ['n', i]));
    for (const [i, v] of bad.entries()) expect(issues[i]?.message).toBe(`number ${v} cannot be stored (magnitude 1e-130 to 9.9e125)`);
  });

  it('refuses lone surrogates in strings and keys; a surrogate pair is fine', () => {
    expect(findLimitIssues({ face: '\u{1F600}', [`k\u{1F600}`]: 1 }, { maxDepth: 2 })).toEqual([]);
    expect(findLimitIssues(['ok', 'bad \uD800'], { maxDepth: 2 })).toEqual([
      { at: [1], message: 'string is not well-formed Unicode (lone surrogate)' },
    ]);
    expect(findLimitIssues({ 'k\uDC00': 1 }, { maxDepth: 2 })).toEqual([
      { at: ['k\uDC00'], message: 'key is not well-formed Unicode (lone surrogate)' },
    ]);
  });

  it('refuses empty, __proto__ and over-long keys, and does not look inside their values', () => {
    const long = 'k'.repeat(MAX_KEY_LENGTH);
    expect(findLimitIssues({ [long]: 1 }, { maxDepth: 2 })).toEqual([]);
    const value = JSON.parse(`{"": 1, "__proto__": {"x": ${'['.repeat(50)}${']'.repeat(50)}}, "${long}k": 1e200}`);
    const byKey = (a: { at: unknown[] }, b: { at: unknown[] }) => String(a.at[0]).localeCompare(String(b.at[0]));
    expect(findLimitIssues(value, { maxDepth: 5 }).sort(byKey)).toEqual(
      [
        { at: [''], message: 'empty key' },
        { at: ['__proto__'], message: 'key "__proto__" is not allowed' },
        { at: [`${long}k`], message: `key longer than ${MAX_KEY_LENGTH} characters` },
      ].sort(byKey),
    );
  });

  it('checks the size only of a sound value: at most maxBytes serialized', () => {
    const v = { s: 'x'.repeat(100) }; // {"s":"xxx..."} = 108 bytes
    expect(findLimitIssues(v, { maxDepth: 2, maxBytes: 108 })).toEqual([]);
    expect(findLimitIssues(v, { maxDepth: 2, maxBytes: 107 })).toEqual([
      { at: [], message: 'too large: 108 bytes serialized, at most 107' },
    ]);
    expect(findLimitIssues({ s: 'é'.repeat(10) }, { maxDepth: 2, maxBytes: 27 })).toEqual([
      { at: [], message: 'too large: 28 bytes serialized, at most 27' },
    ]);
    // A value that breaks another limit is not also measured.
    expect(findLimitIssues({ s: 'x'.repeat(100), n: Number.NaN }, { maxDepth: 2, maxBytes: 10 })).toHaveLength(1);
  });

  it('an absent value has no size', () => {
    expect(findLimitIssues(undefined, { maxDepth: 1, maxBytes: 0 })).toEqual([]);
  });

  it(`stops at ${MAX_ISSUES} issues, however many keys of one object are bad`, () => {
    const keys = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}\uD800`, 1]));
    expect(findLimitIssues(keys, { maxDepth: 2 })).toHaveLength(MAX_ISSUES);
  });

  it(`stops at ${MAX_ISSUES} issues, in document order`, () => {
    const many = Array.from({ length: 50 }, () => Number.NaN);
    const issues = findLimitIssues(many, { maxDepth: 2 });
    expect(issues).toHaveLength(MAX_ISSUES);
    expect(issues.map((i) => i.at)).toEqual(Array.from({ length: MAX_ISSUES }, (_, i) => [i]));
  });

  it('checkValue names each issue by its path under the prefix', () => {
    expect(checkValue({ o: { 'a b': [1, Number.NaN] } }, 'params', { maxDepth: 5 })).toEqual([
      { path: 'params.o["a b"][1]', message: 'number NaN cannot be stored (magnitude 1e-130 to 9.9e125)' },
    ]);
    expect(checkValue(nested(3), '', { maxDepth: 2 })).toEqual([{ path: '[0][0]', message: 'nested too deep: at most 2 levels' }]);
  });
});

describe('textNesting', () => {
  it('is the deepest bracket nesting of any JSON text', () => {
    fc.assert(
      fc.property(storable, (v) => {
        const text = JSON.stringify(v);
        // Brackets inside strings do not count: JSON.stringify quotes them.
        expect(textNesting(text, 1000)).toBe(depth(v));
      }),
    );
  });

  it('skips quoted strings (with escaped quotes), comments, and closers with nothing open', () => {
    expect(textNesting('a: "[[[\\"[[" # [[[\nb: \'{{{\' ]] [1]')).toBe(1);
    expect(textNesting('x#[[ not a comment, [2]')).toBe(3);
    expect(textNesting('# [[[\n{}')).toBe(1);
    expect(textNesting('}}}{[]}')).toBe(2);
  });

  it('closes every bracket it opened: siblings are not nested', () => {
    expect(textNesting('[][]')).toBe(1);
    expect(textNesting('[{}, {}, []]')).toBe(2);
    expect(textNesting('{"a": [1], "b": {"c": []}}')).toBe(3);
  });

  it('ends on text cut inside a string or a comment', () => {
    expect(textNesting('[ "[[[')).toBe(1);
    expect(textNesting("[ '[[[")).toBe(1);
    expect(textNesting('[ # [[[')).toBe(1);
    expect(textNesting('[ "\\')).toBe(1);
  });

  it('stops counting once past the limit', () => {
    expect(textNesting('['.repeat(10_000))).toBe(MAX_TEXT_NESTING + 1);
    expect(textNesting('['.repeat(10), 3)).toBe(4);
    expect(textNesting('['.repeat(3), 3)).toBe(3);
  });
});
