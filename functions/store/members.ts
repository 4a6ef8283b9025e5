import type { Db } from './db.js';

/**
 * Membership of the local runtime processes that share one table's work (see `local/membership.ts`).
 * One partition for all of them: a handful of items, read by every member in one query per heartbeat.
 * These items are neither runs nor tasks; the master ignores their stream records.
 */
const PK = 'MEMBERS';
const key = (memberId: string) => ({ pk: PK, sk: `MEMBER#${memberId}` });

export interface MemberItem {
  readonly kind: 'member';
  readonly memberId: string;
  /** Where the member accepts jobs (`POST /jobs`), when it runs workers. */
  readonly url?: string;
  /** The member counts as alive until this time (ms). */
  readonly leaseUntil: number;
  readonly joinedAt: number;
}

/**
 * Registers or renews a member's lease. Unconditional: the item's key is made from the member id, so
 * only its owner ever writes it (a condition on the id, as there once was, could never fail).
 */
export async function renewMember(db: Db, m: { memberId: string; url?: string; leaseUntil: number; now: number }): Promise<boolean> {
  const done = await db.update(key(m.memberId), {
    set: { kind: 'member', memberId: m.memberId, url: m.url, leaseUntil: m.leaseUntil },
    // Long after the lease: TTL removes the items of members that died instead of leaving.
    setIfMissing: { joinedAt: m.now, expiresAt: Math.floor(m.leaseUntil / 1000) + 3600 },
  });
  return done !== undefined;
}

/**
 * Removes a member that stops, so the others take over its share at once instead of after its lease.
 * False when it was not there. The key is the member's own, so no condition on the id is needed.
 */
export function leaveMember(db: Db, memberId: string): Promise<boolean> {
  return db.remove(key(memberId));
}

/** The members whose lease has not run out at `now`, by id. */
export async function liveMembers(db: Db, now: number): Promise<MemberItem[]> {
  const all = await db.queryAll<MemberItem>(PK, 'MEMBER#');
  return all.filter((m) => m.kind === 'member' && m.leaseUntil > now).sort((a, b) => a.memberId.localeCompare(b.memberId));
}
