import { InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { isTransient } from '../../functions/store/transient.js';
import { UnstorableError } from '../../functions/store/unstorable.js';

/** What does not count against a stream record's bounded attempts: an unwell table, not bad data. */
describe('transient store errors', () => {
  it('throttling, server faults and network failures are transient', () => {
    expect(isTransient(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }))).toBe(true);
    expect(isTransient(new InternalServerError({ message: 'too long waiting for a lock', $metadata: {} }))).toBe(true);
    expect(isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }))).toBe(true);
  });

  it('bugs, missing data and refused data are not', () => {
    expect(isTransient(new Error('definition x v9 not found'))).toBe(false);
    expect(isTransient(new TypeError("Cannot read properties of undefined (reading 'after')"))).toBe(false);
    expect(isTransient(new UnstorableError('too_large', 'Item size has exceeded the maximum allowed size', undefined))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});
