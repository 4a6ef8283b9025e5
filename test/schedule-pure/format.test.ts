import { describe, expect, it } from 'vitest';
import { formatFireTime, scheduleScope } from '../../functions/engine/schedule/index.js';
import { at } from './helpers.js';

describe('formatFireTime', () => {
  const t = at('2026-03-29T01:00:00Z'); // the instant Paris jumps to CEST

  it('presets', () => {
    expect(formatFireTime(t, 'Europe/Paris', 'iso')).toBe('2026-03-29T01:00:00.000Z');
    expect(formatFireTime(t, 'Europe/Paris', 'local')).toBe('2026-03-29T03:00:00+02:00');
    expect(formatFireTime(at('2026-03-29T00:59:59Z'), 'Europe/Paris', 'local')).toBe('2026-03-29T01:59:59+01:00');
    expect(formatFireTime(t, 'America/New_York', 'local')).toBe('2026-03-28T21:00:00-04:00');
    expect(formatFireTime(t, 'Asia/Kolkata', 'local')).toBe('2026-03-29T06:30:00+05:30');
    expect(formatFireTime(t, 'UTC', 'local')).toBe('2026-03-29T01:00:00+00:00');
    expect(formatFireTime(t, 'Europe/Paris', 'date')).toBe('2026-03-29');
    expect(formatFireTime(t, 'America/New_York', 'date')).toBe('2026-03-28');
    expect(formatFireTime(t, 'UTC', 'epoch')).toBe('1774746000');
    expect(formatFireTime(t, 'UTC', 'epochMs')).toBe('1774746000000');
  });

  it('token patterns, in the zone, other characters kept', () => {
    const x = at('2026-01-02T03:04:05Z');
    expect(formatFireTime(x, 'UTC', 'yyyyMMdd')).toBe('20260102');
    expect(formatFireTime(x, 'UTC', 'yyyy-MM-dd HH:mm:ss')).toBe('2026-01-02 03:04:05');
    expect(formatFireTime(x, 'Asia/Tokyo', 'dd/MM/yyyy HH:mm')).toBe('02/01/2026 12:04');
    expect(formatFireTime(x, 'America/Los_Angeles', 'run_yyyyMMdd_HH')).toBe('run_20260101_19');
    expect(formatFireTime(x, 'UTC', 'year: yyyy')).toBe('year: 2026');
    expect(formatFireTime(at('2026-12-31T23:00:00Z'), 'Pacific/Kiritimati', 'yyyy')).toBe('2027');
  });

  it('midnight is 00, not 24', () => {
    expect(formatFireTime(at('2026-01-02T00:00:00Z'), 'UTC', 'HH:mm')).toBe('00:00');
  });

  it('rejects bad input', () => {
    expect(() => formatFireTime(t, 'Nowhere/Land', 'iso')).toThrow(RangeError);
    expect(() => formatFireTime(new Date(Number.NaN), 'UTC', 'iso')).toThrow(RangeError);
  });
});

describe('scheduleScope', () => {
  it('exposes time/date/local/epoch', () => {
    expect(scheduleScope(at('2026-11-01T06:30:00Z'), 'America/New_York')).toEqual({
      time: '2026-11-01T06:30:00.000Z',
      date: '2026-11-01',
      local: '2026-11-01T01:30:00-05:00', // second 01:30 (EST) is distinguishable by its offset
      epoch: 1_793_514_600,
      epochMs: 1_793_514_600_000,
      timezone: 'America/New_York',
    });
    expect(scheduleScope(at('2026-11-01T05:30:00Z'), 'america/new_york').local).toBe('2026-11-01T01:30:00-04:00');
  });
});
