import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../functions/common/logger.js';

const functions = resolve(dirname(fileURLToPath(import.meta.url)), '../../functions');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** Log calls that still flatten an error to a string; each is owned by other work in flight. Empty it; never add to it. */
const ALLOWED = new Set(['api/app.ts']);

describe('errors are logged as objects', () => {
  it('a logged error keeps its type, stack and cause', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ ...loggerOptions, level: 'info' }, sink);
    const err = new TypeError('outer', { cause: new RangeError('inner') });
    logger.error({ run: 'r1', task: 't', attempt: 2, err }, 'failed');
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ run: 'r1', task: 't', attempt: 2, err: { type: 'TypeError', message: 'outer' } });
    expect(line.err.stack).toContain('TypeError: outer');
    expect(line.err.cause).toMatchObject({ type: 'RangeError', message: 'inner' });
  });

  it('no log call under functions/ turns an error into a string', () => {
    const flattened = /\.(trace|debug|info|warn|error|fatal)\(\{[^}]*\berr: String\(/;
    const wrong = sources(functions)
      .filter((f) => !ALLOWED.has(relative(functions, f)))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${relative(functions, f)}:${i + 1}` }))
          .filter(({ line }) => flattened.test(line))
          .map(({ at }) => at),
      );
    expect(wrong).toEqual([]);
    // The pattern itself catches the old form.
    expect(flattened.test("deps.log.error({ pk: key.pk, err: String(err) }, 'x')")).toBe(true);
  });
});
