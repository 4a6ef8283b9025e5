/**
 * Builds DynamoDB update and condition expressions with generated placeholders, so that callers
 * state intent (set these, remove those, only if...) and never concatenate attribute names.
 */

export interface UpdateSpec {
  readonly set?: Record<string, unknown>;
  /** Set only where the attribute is absent. */
  readonly setIfMissing?: Record<string, unknown>;
  /**
   * Set attribute (key) to the value another attribute (value) had before this write: DynamoDB
   * evaluates every action against the item as it was, so `{ copy: { a: 'n' }, add: { n: 1 } }` gives
   * `a` the old `n`, in one write with no read.
   */
  readonly copy?: Record<string, string>;
  /** Append items to a list attribute, creating it if absent. */
  readonly append?: Record<string, unknown[]>;
  /** Add to a number or a string set. */
  readonly add?: Record<string, number | Set<string>>;
  /** Remove members from a string set. */
  readonly delete?: Record<string, Set<string>>;
  readonly remove?: readonly string[];
}

/** A condition: an expression over `#name` and `:value` placeholders that the caller supplies. */
export interface Condition {
  readonly expr: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, unknown>;
}

export interface BuiltUpdate {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export function buildUpdate(spec: UpdateSpec, condition?: Condition): BuiltUpdate {
  const names: Record<string, string> = { ...condition?.names };
  const values: Record<string, unknown> = { ...condition?.values };
  let i = 0;
  let j = 0;
  const name = (attr: string) => {
    const k = `#n${j++}`;
    names[k] = attr;
    return k;
  };
  const value = (v: unknown) => {
    const k = `:u${i++}`;
    values[k] = v;
    return k;
  };
  const sets: string[] = [];
  for (const [a, v] of Object.entries(spec.set ?? {})) {
    if (v === undefined) continue;
    sets.push(`${name(a)} = ${value(v)}`);
  }
  for (const [a, v] of Object.entries(spec.setIfMissing ?? {})) {
    if (v === undefined) continue;
    const n = name(a);
    sets.push(`${n} = if_not_exists(${n}, ${value(v)})`);
  }
  for (const [a, from] of Object.entries(spec.copy ?? {})) sets.push(`${name(a)} = ${name(from)}`);
  for (const [a, items] of Object.entries(spec.append ?? {})) {
    const n = name(a);
    const empty = value([]);
    sets.push(`${n} = list_append(if_not_exists(${n}, ${empty}), ${value(items)})`);
  }
  const adds = Object.entries(spec.add ?? {}).map(([a, v]) => `${name(a)} ${value(v)}`);
  const deletes = Object.entries(spec.delete ?? {}).map(([a, v]) => `${name(a)} ${value(v)}`);
  const removes = (spec.remove ?? []).map((a) => name(a));
  const parts: string[] = [];
  if (sets.length) parts.push(`SET ${sets.join(', ')}`);
  if (adds.length) parts.push(`ADD ${adds.join(', ')}`);
  if (deletes.length) parts.push(`DELETE ${deletes.join(', ')}`);
  if (removes.length) parts.push(`REMOVE ${removes.join(', ')}`);
  const built: BuiltUpdate = { UpdateExpression: parts.join(' '), ExpressionAttributeNames: names };
  if (Object.keys(values).length) built.ExpressionAttributeValues = values;
  if (condition) built.ConditionExpression = condition.expr;
  return built;
}

/** `#status = :status` style conditions, the most common kind. */
export function whereEquals(fields: Record<string, unknown>): Condition {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts = Object.entries(fields).map(([a, v], j) => {
    names[`#c${j}`] = a;
    values[`:c${j}`] = v;
    return `#c${j} = :c${j}`;
  });
  return { expr: parts.join(' AND '), names, values };
}

/** Combines conditions with AND. */
export function and(...conds: Condition[]): Condition {
  // Re-number placeholders so that conditions built separately cannot collide.
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const exprs = conds.map((c, j) => {
    let e = c.expr;
    for (const [k, v] of Object.entries(c.names ?? {})) {
      const nk = `${k}_${j}`;
      names[nk] = v;
      e = e.replaceAll(new RegExp(`${k}(?![A-Za-z0-9_])`, 'g'), nk);
    }
    for (const [k, v] of Object.entries(c.values ?? {})) {
      const nk = `${k}_${j}`;
      values[nk] = v;
      e = e.replaceAll(new RegExp(`${k}(?![A-Za-z0-9_])`, 'g'), nk);
    }
    return `(${e})`;
  });
  return { expr: exprs.join(' AND '), names, values };
}

/**
 * The item was not reset by a recovery newer than the caller's view of the run (`seen`: that view's
 * `recoveries`, 0 when it had none). Every write an advance makes carries it (`orchestrator/master.ts`):
 * an advance acting on a view of the run from before a recovery (a late ending of an attempt the
 * recovery re-runs, or a view read before the ending, see `worker.ts`) cannot decide a task that recovery
 * already reset; a write that lands before the reset is undone by it (`resetForRecovery` applies to any
 * status). `attr`: `recovered` on task and join items, `recoveries` on the run item.
 */
export function notReset(seen: number | undefined, attr = 'recovered'): Condition[] {
  if (seen === undefined) return [];
  return [{ expr: 'attribute_not_exists(#rc) OR #rc <= :rc', names: { '#rc': attr }, values: { ':rc': seen } }];
}
