import { createHash, randomBytes } from 'node:crypto';

/** A new run id: time-ordered prefix (so ids sort roughly by creation) plus 64 random bits. */
export function newRunId(now = Date.now()): string {
  return `r${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** A run id derived from its inputs: the same inputs always give the same id. */
export function derivedRunId(prefix: string, ...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${prefix}${h.slice(0, 25)}`;
}

/** A short stable hash, for comparing request bodies. */
export function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}
