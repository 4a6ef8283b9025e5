/** Durations in definitions: `500ms`, `10s`, `5m`, `2h`, `1d`, compounds such as `1h30m`, or a bare number of seconds. */

/** The longest duration a definition may name: 365 days. */
export const MAX_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

const UNITS = [
  ['d', 24 * 60 * 60 * 1000],
  ['h', 60 * 60 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
] as const;

const UNIT_MS: Record<string, { rank: number; ms: number }> = Object.fromEntries(UNITS.map(([unit, ms], rank) => [unit, { rank, ms }]));

const BARE = /^\d+(?:\.\d+)?$/;
// `ms` before `m` so that `500ms` is not read as 500 minutes followed by garbage.
const PART = /(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)\s*/y;

function checked(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const rounded = Math.round(ms);
  return rounded > MAX_DURATION_MS ? undefined : rounded;
}

/**
 * Parses a duration to milliseconds.
 *
 * Accepts `500ms`, `10s`, `5m`, `2h`, `1d`, decimals (`1.5s`), compounds with units in descending order
 * and each unit at most once (`1m30s`, `1h30m`, `1d 2h`), and bare numbers (number or numeric string),
 * which mean seconds. Returns `undefined` for anything else: negative, empty, garbage, or more than a year.
 * The result is rounded to whole milliseconds.
 */
export function parseDuration(s: string | number): number | undefined {
  if (typeof s === 'number') return checked(s * 1000);
  if (typeof s !== 'string') return undefined;
  const text = s.trim();
  if (text === '') return undefined;
  if (BARE.test(text)) return checked(Number(text) * 1000);

  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    const unit = UNIT_MS[m[2] as string];
    if (!unit || unit.rank <= lastRank) return undefined;
    lastRank = unit.rank;
    total += Number(m[1]) * unit.ms;
  }
  return checked(total);
}

/**
 * Formats milliseconds as a compound duration that `parseDuration` reads back to the same value:
 * `0s`, `500ms`, `1m30s`, `1d2h`. Rounds to whole milliseconds; throws a RangeError for negative or
 * non-finite input.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a duration: ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
