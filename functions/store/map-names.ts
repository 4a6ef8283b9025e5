/**
 * Names of map items. An item of map task `m`, attempt `a`, index `i` is the task `m@a[i]` (no real task
 * name can hold `@` or `[`), so every task transition, the worker, the sweeper and the lease code run
 * items unchanged; `keys.task` files such a name under the map attempt's own partition, so that a map of
 * 10 000 items never enlarges a query of its run's partition.
 */

/** A map item's coordinates. */
export interface MapItemRef {
  readonly map: string;
  /** The map task's attempt that created the item (a retried or recovered map starts afresh). */
  readonly attempt: number;
  readonly index: number;
}

const ITEM_NAME = /^([A-Za-z][A-Za-z0-9_-]{0,63})@(\d{1,6})\[(\d{1,6})\]$/;

/** The task name of an item. */
export const mapItemName = (map: string, attempt: number, index: number): string => `${map}@${attempt}[${index}]`;

/** The coordinates of an item's task name, or undefined for any other task. */
export function parseMapItemName(name: string): MapItemRef | undefined {
  const m = ITEM_NAME.exec(name);
  return m ? { map: m[1] as string, attempt: Number(m[2]), index: Number(m[3]) } : undefined;
}

/** The partition key of one map attempt's items and control item. */
export const mapPartition = (runId: string, map: string, attempt: number): string => `RUN#${runId}#MAP#${map}@${attempt}`;

/** The sort key of item `index` (zero-padded, so the partition reads back in item order). */
export const mapItemSk = (index: number): string => `ITEM#${String(index).padStart(6, '0')}`;

/** Sort-key prefix of items, and the control item's sort key. */
export const MAP_ITEM_PREFIX = 'ITEM#';
export const MAP_CONTROL_SK = 'CTL';
