import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAILURE_REASONS, isFailureReason } from '../../functions/engine/failure-reason.js';

/**
 * The README's table of failure reasons is the user's view of `FailureReason`: every reason the code
 * can write has a row, and every row names a reason the code can write. The compiler keeps the code
 * inside the union; this keeps the table equal to it.
 */

const readme = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');

/** The reasons named in the first column of the table under `### Failure reasons`. */
function documented(text: string): string[] {
  const start = text.indexOf('### Failure reasons');
  if (start < 0) return [];
  const rest = text.slice(start + 1);
  const end = rest.search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
}

describe('failure reasons', () => {
  it('the README table lists exactly the closed set (http_<status> standing for every status)', () => {
    const rows = documented(readme);
    expect(rows.length).toBeGreaterThan(40);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...FAILURE_REASONS, 'http_<status>'].sort());
  });

  it('the table check fails on a missing or an extra row', () => {
    const table =
      '### Failure reasons\n\n| reason | when |\n|---|---|\n| `error`, `timeout` | x |\n| `made_up` | y |\n\n## Next\n| `later` | z |\n';
    expect(documented(table)).toEqual(['error', 'timeout', 'made_up']);
  });

  it('tells a reason from any other string', () => {
    expect(isFailureReason('timeout')).toBe(true);
    expect(isFailureReason('http_503')).toBe(true);
    expect(isFailureReason('http_5')).toBe(false);
    expect(isFailureReason('contention')).toBe(false);
    expect(isFailureReason('no_space')).toBe(false);
  });
});
