import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';

/**
 * Counts DynamoDB requests and capacity units on the wire, by SDK middleware. Every data-plane
 * request gets `ReturnConsumedCapacity: 'INDEXES'` (table + each GSI), and the units DynamoDB
 * reports in the response are summed per operation kind. A conditional write whose condition fails
 * returns no `ConsumedCapacity` (it is an error), yet AWS bills it: the middleware asks for the
 * existing item (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`) and *estimates* its units from
 * that item's size, at least 1 — those units are kept apart as `estWcu`.
 *
 * Requests are grouped as `engine` (what would run in AWS) or `plumbing` (the local stream poller:
 * DescribeTable on the DynamoDB client, every call of the streams client). `phase` lets the caller
 * tag requests it makes itself (e.g. `api` for the HTTP start of a run).
 */

export interface OpStats {
  requests: number;
  /** Write units reported by DynamoDB (table + GSIs), successful writes only. */
  wcu: number;
  /** Of which the GSIs' share. */
  gsiWcu: number;
  /** Read units reported by DynamoDB. */
  rcu: number;
  /** Conditional writes whose condition failed. */
  condFailed: number;
  /** Estimated write units of those failed conditional writes (AWS bills them; DynamoDB reports none). */
  estWcu: number;
  /** Requests that reported no ConsumedCapacity although asked (counted so that a gap is visible). */
  unreported: number;
}

export interface StreamStats {
  /** Requests of the stream poller, by API. */
  calls: Record<string, number>;
  /** Records the poller received. */
  records: number;
  /** Records that the master acts on (the CDK stream filter would pass them); an upper bound on master invocations. */
  relevant: number;
}

export interface MeterSnapshot {
  ops: Record<string, OpStats>;
  stream: StreamStats;
}

const CAPACITY_OPS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const TERMINAL_TASK = new Set(['succeeded', 'failed', 'skipped']);
const TERMINAL_RUN = new Set(['succeeded', 'failed', 'cancelled']);

const blank = (): OpStats => ({ requests: 0, wcu: 0, gsiWcu: 0, rcu: 0, condFailed: 0, estWcu: 0, unreported: 0 });

export class Meter {
  /** Tag for requests that are not plumbing; the bench sets `api` around its own HTTP calls. */
  phase = 'engine';

  /**
   * `capacity: false` counts requests without asking DynamoDB for their capacity (no
   * `ReturnConsumedCapacity`, no `ALL_OLD` on a failed condition): for timing runs, whose requests
   * then have the shape the engine sends in production. Units read 0 in that mode.
   */
  constructor(private readonly opts: { capacity: boolean } = { capacity: true }) {}
  private ops = new Map<string, OpStats>();
  private stream: StreamStats = { calls: {}, records: 0, relevant: 0 };

  reset(): void {
    this.ops = new Map();
    this.stream = { calls: {}, records: 0, relevant: 0 };
  }

  snapshot(): MeterSnapshot {
    return { ops: Object.fromEntries([...this.ops].map(([k, v]) => [k, { ...v }])), stream: structuredClone(this.stream) };
  }

  private stat(key: string): OpStats {
    let s = this.ops.get(key);
    if (!s) {
      s = blank();
      this.ops.set(key, s);
    }
    return s;
  }

  /** Adds the counting middleware to a DynamoDB client (the one the runtime's `Db` and poller use). */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const op = opName(context.commandName);
        const input = args.input as Record<string, any>;
        if (this.opts.capacity && CAPACITY_OPS.has(op)) {
          input.ReturnConsumedCapacity = 'INDEXES';
          if ((op === 'PutItem' || op === 'UpdateItem' || op === 'DeleteItem') && input.ConditionExpression) {
            input.ReturnValuesOnConditionCheckFailure ??= 'ALL_OLD';
          }
        }
        const group = op === 'DescribeTable' ? 'plumbing' : this.phase;
        const s = this.stat(`${group}|${label(op, input)}`);
        s.requests++;
        try {
          const out = await next(args);
          if (this.opts.capacity && CAPACITY_OPS.has(op)) {
            const cc = (out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
            const list = cc === undefined ? [] : Array.isArray(cc) ? cc : [cc];
            if (list.length === 0) s.unreported++;
            for (const c of list) {
              const total = c.CapacityUnits ?? 0;
              if (WRITES.has(op)) {
                s.wcu += total;
                s.gsiWcu += Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((a, g) => a + (g.CapacityUnits ?? 0), 0);
              } else {
                s.rcu += total;
              }
            }
          }
          return out;
        } catch (err) {
          if ((err as Error).name === 'ConditionalCheckFailedException') {
            s.condFailed++;
            const old = (err as { Item?: Record<string, AttributeValue> }).Item;
            if (this.opts.capacity) s.estWcu += Math.max(1, Math.ceil(itemBytes(old) / 1024));
          }
          throw err;
        }
      },
      // In the serialize step, before the serializer: the output seen here is the raw service
      // response. Document-client input may or may not be marshalled yet; `label` reads both.
      { step: 'serialize', priority: 'high', name: 'benchCapacityMeter', override: true },
    );
  }

  /** Counts the local stream poller's own requests and what they deliver. */
  attachStreams(client: DynamoDBStreamsClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const op = opName(context.commandName);
        this.stream.calls[op] = (this.stream.calls[op] ?? 0) + 1;
        const out = await next(args);
        if (op === 'GetRecords') {
          const recs = (out.output as { Records?: StreamRecord[] }).Records ?? [];
          this.stream.records += recs.length;
          for (const r of recs) if (relevant(r)) this.stream.relevant++;
        }
        return out;
      },
      { step: 'initialize', name: 'benchStreamMeter', override: true },
    );
  }
}

interface Capacity {
  CapacityUnits?: number;
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

interface StreamRecord {
  dynamodb?: { NewImage?: Record<string, AttributeValue>; OldImage?: Record<string, AttributeValue> };
}

function opName(commandName: string | undefined): string {
  const n = (commandName ?? '?').replace(/Command$/, '');
  // Document-client commands carry short names.
  return (
    ({ Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', BatchGet: 'BatchGetItem' } as Record<string, string>)[
      n
    ] ?? n
  );
}

/** What the engine was doing, read from the request: operation, item type, and the status it writes. */
function label(op: string, input: Record<string, any>): string {
  if (op === 'Query') {
    if (input.IndexName) return `Query index ${input.IndexName}`;
    const pk = str(input.ExpressionAttributeValues?.[':pk']);
    return `Query ${pk.split('#')[0] || 'pk'}`;
  }
  const key = input.Key ?? input.Item;
  if (!key) return op;
  const pk = str(key.pk);
  const sk = str(key.sk);
  const type = pk === 'WORKFLOWS' ? 'WF' : sk === 'RUN' || sk === 'END' ? sk : sk.startsWith('V#') ? 'DEF' : sk.split('#')[0] || '?';
  if (op !== 'UpdateItem') return `${op} ${type}`;
  const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
  const values: Record<string, any> = input.ExpressionAttributeValues ?? {};
  const expr: string = input.UpdateExpression ?? '';
  const byAttr = (attr: string) => Object.keys(names).filter((k) => names[k] === attr);
  for (const n of byAttr('status')) {
    const m = new RegExp(`${n} = (:[A-Za-z0-9_]+)`).exec(expr);
    const v = m?.[1] ? str(values[m[1]]) : undefined;
    if (v) return `UpdateItem ${type} →${v}`;
  }
  if (byAttr('doneDeps').some((n) => new RegExp(`ADD.*${n} `).test(expr))) return `UpdateItem ${type} +doneDeps`;
  if (byAttr('dueAt').some((n) => expr.includes(`${n} =`))) return `UpdateItem ${type} due/lease`;
  return `UpdateItem ${type}`;
}

/** A string attribute value, marshalled (`{ S }`) or not (document-client input). */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  return (v as { S?: string } | undefined)?.S ?? '';
}

/** The master's filter (see orchestrator/stream.ts): a status change to queued/terminal (run) or terminal (task). */
function relevant(r: StreamRecord): boolean {
  const n = r.dynamodb?.NewImage;
  if (!n) return false;
  const status = n.status?.S;
  if (status === undefined || status === r.dynamodb?.OldImage?.status?.S) return false;
  const kind = n.kind?.S;
  if (kind === 'run') return status === 'queued' || TERMINAL_RUN.has(status);
  return kind === 'task' && TERMINAL_TASK.has(status);
}

/** DynamoDB's item size rule: attribute name bytes plus value bytes (approximate for numbers). */
export function itemBytes(item: Record<string, AttributeValue> | undefined): number {
  if (!item) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += Buffer.byteLength(k) + valueBytes(v);
  return n;
}

function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((a, s) => a + Math.ceil(s.length / 2) + 1, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((a, x) => a + 1 + valueBytes(x), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((a, [k, x]) => a + 1 + Buffer.byteLength(k) + valueBytes(x), 0);
  return 0;
}

/** Sums a snapshot's ops, optionally only those of one group (`engine`, `api`, `plumbing`). */
export function totals(s: MeterSnapshot, groups?: string[]): OpStats {
  const t = blank();
  for (const [k, v] of Object.entries(s.ops)) {
    if (groups && !groups.includes(k.split('|')[0] as string)) continue;
    for (const f of Object.keys(t) as (keyof OpStats)[]) t[f] += v[f];
  }
  return t;
}

/** Adds snapshots (e.g. of several processes). */
export function merge(...snaps: MeterSnapshot[]): MeterSnapshot {
  const out: MeterSnapshot = { ops: {}, stream: { calls: {}, records: 0, relevant: 0 } };
  for (const s of snaps) {
    for (const [k, v] of Object.entries(s.ops)) {
      const t = out.ops[k] ?? blank();
      out.ops[k] = t;
      for (const f of Object.keys(t) as (keyof OpStats)[]) t[f] += v[f];
    }
    for (const [k, v] of Object.entries(s.stream.calls)) out.stream.calls[k] = (out.stream.calls[k] ?? 0) + v;
    out.stream.records += s.stream.records;
    out.stream.relevant += s.stream.relevant;
  }
  return out;
}
