import type { Db } from './db.js';

/**
 * Parked stream records: a record whose handling kept failing is counted here, one item per record,
 * and parked once it has failed too often, so that neither a retry loop nor a restart handles it
 * forever. One partition for all of them: they are rare, and an operator lists them in one query.
 */
const key = (recordId: string) => ({ pk: 'PARKED', sk: `REC#${recordId}` });

export interface ParkedRecordItem {
  readonly pk: string;
  readonly sk: string;
  readonly kind: 'parked';
  /** The stream record's eventID (its sequence number when it has none). */
  readonly recordId: string;
  readonly sequence?: string;
  readonly runId?: string;
  readonly task?: string;
  /** Failed handlings so far. */
  readonly failures: number;
  readonly lastError: string;
  readonly firstFailedAt: number;
  /** Set once the record is given up on; from then on it is skipped. */
  readonly parkedAt?: number;
}

export interface RecordFailure {
  readonly recordId: string;
  readonly sequence?: string;
  readonly runId?: string;
  readonly task?: string;
  readonly error: string;
}

const NOT_PARKED = { expr: 'attribute_not_exists(#p)', names: { '#p': 'parkedAt' } };

/**
 * Counts one failed handling of a record. Returns the item with its new count, or undefined when the
 * record is already parked (a redelivery: skip it, do not count or retry it).
 */
export function noteRecordFailure(db: Db, f: RecordFailure, now: number) {
  return db.update<ParkedRecordItem>(
    key(f.recordId),
    {
      set: { kind: 'parked', recordId: f.recordId, sequence: f.sequence, runId: f.runId, task: f.task, lastError: f.error.slice(0, 2000) },
      setIfMissing: { firstFailedAt: now, ...db.expiry(now) },
      add: { failures: 1 },
    },
    NOT_PARKED,
  );
}

/** Parks a record: it will not be handled again. Undefined when it already was (by a racing master). */
export function parkRecord(db: Db, recordId: string, now: number) {
  return db.update<ParkedRecordItem>(key(recordId), { set: { parkedAt: now } }, NOT_PARKED);
}

/** Every parked or failing record, oldest first: what an operator looks at. */
export const listParked = (db: Db) => db.queryAll<ParkedRecordItem>('PARKED', 'REC#');
