import { createHash } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import type { Db } from '../store/db.js';
import { leaveMember, liveMembers, type MemberItem, renewMember } from '../store/members.js';

export interface MembershipOptions {
  readonly db: Db;
  readonly memberId: string;
  /** Where this member accepts jobs, if it runs workers. */
  readonly url?: string;
  readonly log: Logger;
  /** How long a member counts as alive after its last renewal (`BATON_MEMBER_LEASE_MS`, default 10000). */
  readonly leaseMs: number;
  /** How often a member renews its lease and reads the others (`BATON_MEMBER_HEARTBEAT_MS`, default 2000). */
  readonly heartbeatMs: number;
  readonly now?: () => number;
}

/** The members one process believes alive, itself always among them. */
export interface View {
  readonly members: readonly MemberItem[];
  readonly ids: ReadonlySet<string>;
}

/**
 * Which local runtime processes share the table's work: each member renews a lease item every
 * heartbeat and reads the others' (one conditional write and one query per heartbeat). A key's owner
 * is chosen by rendezvous hashing over the live members, so a member that joins or dies moves only
 * the keys it gains or held; the members need not agree at every instant (see `work-share.ts` for
 * why a short disagreement loses nothing).
 */
export class Membership {
  private view: View;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly listeners: ((prev: View, next: View) => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly opts: MembershipOptions) {
    this.now = opts.now ?? Date.now;
    this.view = this.make([this.self()]);
  }

  get id(): string {
    return this.opts.memberId;
  }

  get current(): View {
    return this.view;
  }

  /** Joins (one heartbeat, so the view is known before any work is filtered), then keeps beating. */
  async start(): Promise<void> {
    await this.beat();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.beating = this.beat().finally(loop);
      }, this.opts.heartbeatMs);
    };
    loop();
  }

  /** Calls `fn(prev, next)` whenever the set of live members changes. */
  onChange(fn: (prev: View, next: View) => void): void {
    this.listeners.push(fn);
  }

  /** The member that owns `key` in the current view. */
  owner(key: string): MemberItem {
    let best = this.view.members[0] as MemberItem;
    let bestWeight = -1n;
    for (const m of this.view.members) {
      const w = weight(m.memberId, key);
      if (w > bestWeight) {
        best = m;
        bestWeight = w;
      }
    }
    return best;
  }

  mine(key: string): boolean {
    return this.owner(key).memberId === this.opts.memberId;
  }

  /** Leaves: stops beating and removes this member's item so the others take its share now. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    await leaveMember(this.opts.db, this.opts.memberId).catch((err) => this.opts.log.warn({ err }, 'could not leave the membership'));
  }

  private self(): MemberItem {
    const now = this.now();
    return { kind: 'member', memberId: this.opts.memberId, url: this.opts.url, leaseUntil: now + this.opts.leaseMs, joinedAt: now };
  }

  private make(members: MemberItem[]): View {
    return { members, ids: new Set(members.map((m) => m.memberId)) };
  }

  private async beat(): Promise<void> {
    try {
      const now = this.now();
      await renewMember(this.opts.db, { memberId: this.opts.memberId, url: this.opts.url, leaseUntil: now + this.opts.leaseMs, now });
      const live = await liveMembers(this.opts.db, this.now());
      // Always count ourselves: a renewal that was slow must not make this process drop its own share.
      const members = live.some((m) => m.memberId === this.opts.memberId) ? live : [...live, this.self()];
      const next = this.make(members.sort((a, b) => a.memberId.localeCompare(b.memberId)));
      const prev = this.view;
      this.view = next;
      if (prev.ids.size !== next.ids.size || [...next.ids].some((id) => !prev.ids.has(id))) {
        this.opts.log.info({ member: this.opts.memberId, members: [...next.ids] }, 'work-sharing members changed');
        for (const fn of this.listeners) fn(prev, next);
      }
    } catch (err) {
      // Keep the last view: the other members' leases, not this process's luck, decide who is alive.
      this.opts.log.warn({ err, member: this.opts.memberId }, 'membership heartbeat failed');
    }
  }
}

/** Rendezvous (highest random weight) hashing: the weight of `member` for `key`. */
function weight(member: string, key: string): bigint {
  return createHash('sha1').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}
