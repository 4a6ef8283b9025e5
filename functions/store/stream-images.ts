import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { unmarshallOptions } from './client.js';
import type { Key } from './db.js';

/**
 * What the master already knows from the stream: the newest image it received of each recent task or
 * run item (key → image, newest by sequence number), so that the re-processing of an inline ending can
 * learn that the worker's advance told a successor without reading it (`reprocess.ts`).
 *
 * Fed with a whole batch before any of its records is handled (`noteBatch`), so a record sees the
 * images of the records after it in the same batch (the successor's promotion, written right after the
 * ending, is usually there: same partition key, same shard); kept across batches in the process (a
 * Lambda's warm container, the local runtime), bounded: the oldest entries go first.
 *
 * An image is a state the item really had; what the master concludes from one is what it would from an
 * eventually consistent read of the item (which also returns some committed state, maybe not the last).
 * Only the attributes the master decides from are kept (an item's output can be large).
 */
export class StreamImages {
  private readonly images = new Map<string, Noted>();
  private readonly waiters = new Set<() => void>();
  private lastRead: number | undefined;

  constructor(private readonly capacity = 20_000) {}

  /** Records the images of `records` (any order); keeps, per item, the one with the highest sequence number. */
  note(records: Iterable<ImageRecord>): void {
    let changed = false;
    for (const r of records) {
      const img = r.dynamodb?.NewImage;
      const seq = parseSequence(r.dynamodb?.SequenceNumber);
      const kind = img?.kind?.S;
      if (!img || seq === undefined || (kind !== 'task' && kind !== 'run')) continue;
      const pk = img.pk?.S;
      const sk = img.sk?.S;
      if (pk === undefined || sk === undefined) continue;
      const id = keyId({ pk, sk });
      const had = this.images.get(id);
      if (had && had.seq >= seq) continue;
      if (had) this.images.delete(id); // re-inserted below: the newest stays longest
      this.images.set(id, { seq, image: trim(img) });
      changed = true;
    }
    while (this.images.size > this.capacity) {
      const oldest = this.images.keys().next().value as string;
      this.images.delete(oldest);
    }
    if (changed) for (const w of [...this.waiters]) w();
  }

  /**
   * The newest image noted of `key` if it was written after the change of sequence number `after`
   * (the record being handled), decoded; undefined when there is none, or when `after` is unknown.
   */
  after<T>(key: Key, after: string | undefined): T | undefined {
    const n = this.newer(key, after);
    if (!n) return undefined;
    try {
      return unmarshall(n.image, unmarshallOptions()) as T;
    } catch {
      return undefined; // an image that does not decode says nothing
    }
  }
  /** Whether an image of `key` written after the change of sequence number `after` was noted (not decoded). */
  has(key: Key, after: string | undefined): boolean {
    return this.newer(key, after) !== undefined;
  }

  private newer(key: Key, after: string | undefined) {
    const from = parseSequence(after);
    const n = from === undefined ? undefined : this.images.get(keyId(key));
    return n && from !== undefined && n.seq > from ? n : undefined;
  }

  /**
   * Resolves when `done()` holds, checked now and after each `note`, or at `deadline` (epoch ms) at the
   * latest, whichever comes first; resolves to whether `done()` held. Never waits past the deadline.
   */
  async until(done: () => boolean, deadline: number, now: () => number): Promise<boolean> {
    if (done()) return true;
    const wait = deadline - now();
    if (wait <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const timer = setTimeout(() => finish(done()), wait);
      this.waiters.add(check);
    });
  }

  /**
   * Notes `records` read ahead of the batch in hand by a read of the stream; `caughtUpAt` (epoch ms,
   * `Date.now()`) when that read began and reached the shard's tip: every change written before then is
   * in them or was noted before.
   */
  noteRead(records: Iterable<ImageRecord>, caughtUpAt: number | undefined): void {
    if (caughtUpAt !== undefined) this.lastRead = Math.max(this.lastRead ?? 0, caughtUpAt);
    this.note(records);
    for (const w of [...this.waiters]) w();
  }

  /** Says that this process reads the stream ahead of the batch in hand (`noteRead` will come). */
  readAhead(): this {
    this.lastRead ??= 0;
    return this;
  }

  /** Whether this process reads the stream ahead of the batch in hand (the local poller; not a Lambda). */
  get readsAhead(): boolean {
    return this.lastRead !== undefined;
  }

  /** Whether a read of the stream begun at or after `t` (epoch ms) has been noted. */
  readSince(t: number): boolean {
    return this.lastRead !== undefined && this.lastRead >= t;
  }

  /** Whether something waits for images (`until`): what a read-ahead of the stream is for. */
  get awaited(): boolean {
    return this.waiters.size > 0;
  }

  get size(): number {
    return this.images.size;
  }
}

/** The part of a stream record this reads (`ChangeRecord` in stream.ts). */
export interface ImageRecord {
  readonly dynamodb?: { readonly SequenceNumber?: string; readonly NewImage?: Record<string, AttributeValue> };
}

interface Noted {
  readonly seq: bigint;
  readonly image: Record<string, AttributeValue>;
}

/** What `reprocess.ts` decides from: status, the dependencies recorded, whether in flight out of the due index. */
const KEPT = ['pk', 'sk', 'kind', 'runId', 'name', 'status', 'attempt', 'fence', 'dueAt', 'held', 'doneDeps', 'recovered', 'recoveries'];

function trim(img: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const k of KEPT) {
    const v = img[k];
    // DynamoDB Local streams may drop the type of an empty map (stream.ts repairImage): none of these is a map.
    if (v !== undefined && v !== null && typeof v === 'object' && Object.keys(v).length > 0) out[k] = v;
  }
  return out;
}

const keyId = (k: Key) => `${k.pk}\u0000${k.sk}`;

/** DynamoDB stream sequence numbers are decimal strings, increasing within a shard (and across its children). */
function parseSequence(s: string | undefined): bigint | undefined {
  if (s === undefined || !/^\d{1,64}$/.test(s)) return undefined;
  return BigInt(s);
}
