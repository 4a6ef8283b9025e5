import { randomBytes } from 'node:crypto';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/common/config.js';
import { log } from '../../functions/common/logger.js';
import { Membership } from '../../functions/local/membership.js';
import { jobKey, recordKey, WorkShare } from '../../functions/local/work-share.js';
import type { Job } from '../../functions/orchestrator/deps.js';
import { documentClient, dynamoClient } from '../../functions/store/client.js';
import { Db } from '../../functions/store/db.js';
import { ensureTable } from '../../functions/store/table.js';
import { useDynamo } from '../support/harness.js';
import { until } from '../support/wait.js';

useDynamo();

/** A stream record about one task item of run `r<i % 30>`, as the poller hands it over. */
const record = (i: number): _Record => ({
  eventID: `e${i}`,
  dynamodb: { Keys: { pk: { S: `RUN#r${i % 30}` }, sk: { S: `TASK#t${i}` } }, NewImage: { runId: { S: `r${i % 30}` } } },
});

interface Member {
  readonly membership: Membership;
  readonly share: WorkShare;
  readonly ran: Job[];
  readonly retaken: _Record[];
}

describe('work share: members partition the stream and the jobs, and take over a departed member', () => {
  const members: Member[] = [];
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.membership.stop()));
  });

  async function member(db: Db, id: string, leaseMs = 30_000): Promise<Member> {
    const ran: Job[] = [];
    const retaken: _Record[] = [];
    // A lease far longer than the test: only a departure changes the view (a loaded machine must not make members lapse).
    // No worker endpoint: a job owned by another member is handed to `runHere` only when that member has no URL.
    const membership = new Membership({ db, memberId: id, log, leaseMs, heartbeatMs: 50 });
    const share = new WorkShare({
      membership,
      log,
      runHere: async (job) => void ran.push(job),
      retake: async (records) => void retaken.push(...records),
      keepMs: 10_000,
    });
    await membership.start();
    const m = { membership, share, ran, retaken };
    members.push(m);
    return m;
  }

  async function table(): Promise<Db> {
    const name = `share${randomBytes(5).toString('hex')}`;
    await ensureTable(dynamoClient(), name);
    return new Db(documentClient(dynamoClient()), loadConfig({ BATON_TABLE: name }));
  }

  it('gives every record to exactly one of three members, and each member some', async () => {
    const db = await table();
    const ms = [await member(db, 'a'), await member(db, 'b'), await member(db, 'c')];
    await until('three members', async () => ms.every((m) => m.membership.current.ids.size === 3), 15_000);
    const records = Array.from({ length: 300 }, (_, i) => record(i));
    const picked = ms.map((m) => m.share.select(records));
    for (const p of picked) expect(p.length).toBeGreaterThan(0);
    const all = picked.flat().map((r) => r.eventID);
    expect(all).toHaveLength(records.length);
    expect(new Set(all)).toEqual(new Set(records.map((r) => r.eventID)));
    // Every member agrees on every key's owner (the same hash routes jobs).
    const owners = ms.map((m) => records.map((r) => m.membership.owner(recordKey(r)).memberId));
    expect(owners[1]).toEqual(owners[0]);
    expect(owners[2]).toEqual(owners[0]);
    // Shared by run: a run's records have one owner, and its jobs go to that owner.
    const a = ms[0] as Member;
    for (let run = 0; run < 30; run++) {
      const ofRun = records.filter((r) => r.dynamodb?.NewImage?.runId?.S === `r${run}`);
      const owner = a.membership.owner(jobKey({ runId: `r${run}`, task: 't', attempt: 1 })).memberId;
      expect(new Set(ofRun.map((r) => a.membership.owner(recordKey(r)).memberId))).toEqual(new Set([owner]));
    }
  });

  it('hands the records a departed member owned to the survivors, each to one of them, and only those', async () => {
    const db = await table();
    const [a, b, c] = [await member(db, 'a'), await member(db, 'b'), await member(db, 'c')];
    await until('three members', async () => [a, b, c].every((m) => m?.membership.current.ids.size === 3), 15_000);
    const records = Array.from({ length: 300 }, (_, i) => record(i));
    const ownedByC = new Set(c?.share.select(records).map((r) => r.eventID));
    a?.share.select(records);
    b?.share.select(records);
    // c leaves (a SIGKILLed member leaves the same view when its lease runs out: test/sharing/sharing.test.ts).
    members.splice(members.indexOf(c as Member), 1);
    await (c as Member).membership.stop();
    await until('the survivors to take over', async () => (a?.retaken.length ?? 0) + (b?.retaken.length ?? 0) >= ownedByC.size, 15_000);
    await Promise.all([a?.share.settled(), b?.share.settled()]);
    const retaken = [...(a?.retaken ?? []), ...(b?.retaken ?? [])].map((r) => r.eventID);
    expect(retaken).toHaveLength(ownedByC.size);
    expect(new Set(retaken)).toEqual(ownedByC);
    expect(a?.retaken.length).toBeGreaterThan(0);
    expect(b?.retaken.length).toBeGreaterThan(0);
  });
});
