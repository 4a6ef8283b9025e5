/**
 * `${schedule.*}` templates in a schedule's params: what a run receives for one fire time, and which
 * malformed templates are refused (with the path of the value that holds them).
 */
import { describe, expect, it } from 'vitest';
import { checkScheduleParams, renderScheduleParams } from '../../functions/engine/schedule/index.js';
import { at } from './helpers.js';

// 2025-06-30T15:00:00Z is midnight of 1 July in Tokyo (+09:00).
const T = at('2025-06-30T15:00:00Z');
const render = (params: Record<string, unknown>, zone = 'Asia/Tokyo') => renderScheduleParams(params, T, zone, 'nightly');

describe('renderScheduleParams', () => {
  it('every schedule value, in the zone', () => {
    expect(
      render({
        time: '${schedule.time}',
        date: '${schedule.date}',
        local: '${schedule.local}',
        epoch: 'e=${schedule.epoch}',
        epochMs: 'ms=${schedule.epochMs}',
        timezone: '${schedule.timezone}',
        id: '${schedule.id}',
      }),
    ).toEqual({
      time: '2025-06-30T15:00:00.000Z',
      date: '2025-07-01',
      local: '2025-07-01T00:00:00+09:00',
      epoch: 'e=1751295600',
      epochMs: 'ms=1751295600000',
      timezone: 'Asia/Tokyo',
      id: 'nightly',
    });
  });

  it('a string that is exactly one epoch template becomes a number; with other text it stays a string', () => {
    expect(
      render({ a: '${schedule.epoch}', b: '${schedule.epochMs}', c: ' ${schedule.epoch}', d: '${schedule.date}', e: '${schedule.epoch}s' }),
    ).toEqual({
      a: 1_751_295_600,
      b: 1_751_295_600_000,
      c: ' 1751295600',
      d: '2025-07-01',
      e: '1751295600s',
    });
  });

  it('formats: presets and patterns, several templates in one string', () => {
    expect(
      render({
        compact: 'x-${schedule.time:yyyyMMdd-HHmm}',
        utc: '${schedule.time:iso}',
        both: '${schedule.date}/${schedule.time:HH}h',
        epoch: '${schedule.time:epoch}',
      }),
    ).toEqual({ compact: 'x-20250701-0000', utc: '2025-06-30T15:00:00.000Z', both: '2025-07-01/00h', epoch: '1751295600' });
  });

  it('$${ is a literal ${; other ${...} text and other values are left alone; nesting and arrays are walked', () => {
    expect(
      render({
        literal: '$${not.a.template}',
        literalThenValue: '$${schedule.date} is ${schedule.date}',
        other: '${run.id} ${schedule}',
        n: 3,
        flag: true,
        none: null,
        nested: { list: ['${schedule.date}', { day: '${schedule.date}' }, 7] },
      }),
    ).toEqual({
      literal: '${not.a.template}',
      literalThenValue: '${schedule.date} is 2025-07-01',
      other: '${run.id} ${schedule}',
      n: 3,
      flag: true,
      none: null,
      nested: { list: ['2025-07-01', { day: '2025-07-01' }, 7] },
    });
  });

  it('the same params in another zone give that zone`s date', () => {
    expect(render({ d: '${schedule.date}', z: '${schedule.timezone}' }, 'america/new_york')).toEqual({
      d: '2025-06-30',
      z: 'America/New_York',
    });
  });
});

describe('checkScheduleParams', () => {
  it('accepts every known value, formats, literals and text that is no schedule template', () => {
    expect(
      checkScheduleParams({
        a: '${schedule.time} ${schedule.date} ${schedule.local} ${schedule.epoch}',
        b: ['${schedule.epochMs}', { c: '${schedule.timezone} ${schedule.id}' }],
        d: '${schedule.time:yyyy} $${schedule.nope} ${run.id}',
        e: 5,
        f: null,
      }),
    ).toEqual([]);
  });

  it('names each unknown value and each empty format, with its path', () => {
    expect(
      checkScheduleParams({
        day: '${schedule.day}',
        deep: { list: ['ok', '${schedule.time: } and ${schedule.}'] },
      }),
    ).toEqual([
      {
        path: 'params.day',
        message: '${schedule.day}: unknown schedule value "day" (known: time, date, local, epoch, epochMs, timezone, id)',
      },
      { path: 'params.deep.list[1]', message: '${schedule.time: }: empty format' },
      {
        path: 'params.deep.list[1]',
        message: '${schedule.}: unknown schedule value "" (known: time, date, local, epoch, epochMs, timezone, id)',
      },
    ]);
  });

  it('the path prefix is the caller`s (a backfill names its own field)', () => {
    expect(checkScheduleParams({ x: '${schedule.when}' }, 'backfill.params')).toEqual([
      expect.objectContaining({ path: 'backfill.params.x' }),
    ]);
    expect(checkScheduleParams('${schedule.when}')).toEqual([expect.objectContaining({ path: 'params' })]);
  });
});
