import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../functions/engine/definition/index.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1d 2h', 93_600_000],
    ['1.5s', 1500],
    ['0s', 0],
    ['10', 10_000],
    [' 2m ', 120_000],
    [10, 10_000],
    [0.25, 250],
    ['365d', MAX_DURATION_MS],
  ] as const)('%s -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '  ', '-5s', 'abc', '10x', 's', '1s1m', '1m1m', '5 m s', '1y', '366d', '8761h', '10S', '1e3', '.5s'])(
    'rejects %j',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );

  it('rejects bad numbers', () => {
    for (const n of [-1, Number.NaN, Number.POSITIVE_INFINITY, MAX_DURATION_MS / 1000 + 1]) expect(parseDuration(n)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('formats compounds', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(93_600_000)).toBe('1d2h');
    expect(formatDuration(1500)).toBe('1s500ms');
  });

  it('rejects negative', () => {
    expect(() => formatDuration(-1)).toThrow(RangeError);
  });

  it('round-trips through parseDuration', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });
});
