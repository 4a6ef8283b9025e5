import type { Db } from './db.js';
import { keys, type TaskItem } from './items.js';

/**
 * An eventually consistent read of one task item: half the read units of a strong read. For checks that
 * are repeated anyway (a running attempt asking whether it still owns its task), a stale answer only
 * delays the next one.
 */
export const peekTask = (db: Db, runId: string, name: string) => db.get<TaskItem>(keys.task(runId, name), false);
