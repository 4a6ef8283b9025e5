import { describe, expect, it } from 'vitest';
import { intSetting, loadConfig } from '../../functions/common/config.js';

describe('configuration', () => {
  it('reads the given environment and leaves the global one alone', () => {
    const before = process.env;
    const c = loadConfig({ BATON_TABLE: 't1', BATON_LEASE_MS: '900' });
    expect(c).toMatchObject({ table: 't1', leaseMs: 900, heartbeatMs: 300 });
    expect(process.env).toBe(before);
  });

  it('an interval that is not an integer fails at start instead of becoming a ~1 ms timer', () => {
    expect(() => intSetting({ BATON_SWEEP_INTERVAL_MS: '1s' }, 'BATON_SWEEP_INTERVAL_MS', 1000, 1)).toThrow(
      /BATON_SWEEP_INTERVAL_MS must be an integer >= 1, got "1s"/,
    );
    expect(() => intSetting({ X: '0' }, 'X', 1000, 1)).toThrow(/>= 1/);
    expect(intSetting({}, 'BATON_SWEEP_INTERVAL_MS', 1000, 1)).toBe(1000);
    expect(intSetting({ X: '250' }, 'X', 1000, 1)).toBe(250);
  });
});
