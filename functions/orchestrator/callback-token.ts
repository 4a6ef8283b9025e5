import { createHash, randomBytes } from 'node:crypto';

/**
 * A callback token names its attempt and carries 192 random bits: `v1.{base64url([runId, task,
 * attempt])}.{base64url(random)}`. Only its SHA-256 is stored (in the waiting attempt's state), so
 * reading the table does not let anyone complete a task; no shared secret is needed.
 */
export function mintCallbackToken(runId: string, task: string, attempt: number): { token: string; tokenHash: string } {
  const coords = Buffer.from(JSON.stringify([runId, task, attempt])).toString('base64url');
  const token = `v1.${coords}.${randomBytes(24).toString('base64url')}`;
  return { token, tokenHash: hashToken(token) };
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function parseCallbackToken(token: string): { runId: string; task: string; attempt: number } | undefined {
  const m = /^v1\.([A-Za-z0-9_-]{4,2000})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return undefined;
  try {
    const v = JSON.parse(Buffer.from(m[1] as string, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3) return undefined;
    const [runId, task, attempt] = v as unknown[];
    if (typeof runId !== 'string' || typeof task !== 'string' || !Number.isInteger(attempt) || (attempt as number) < 1) return undefined;
    return { runId, task, attempt: attempt as number };
  } catch {
    return undefined;
  }
}
