import { appendFileSync } from 'node:fs';

/**
 * Fault injection for crash tests. `BATON_CRASH` lists named points and the probability of dying
 * there, e.g. `after:create:CHILD=1` or `*=0.02,before:dispatch=0.2`; `BATON_CRASH_SEED` makes the
 * sequence of decisions repeatable; `BATON_CRASH_LOG` names a file that gets one line per crash.
 * Off by default: `crashPoint` is then a single boolean test.
 */
const spec = parse(process.env.BATON_CRASH);
export const crashEnabled = spec !== undefined;
let seed = Number(process.env.BATON_CRASH_SEED ?? Date.now()) >>> 0;

function parse(raw: string | undefined): Map<string, number> | undefined {
  if (!raw) return undefined;
  const m = new Map<string, number>();
  for (const part of raw.split(',')) {
    const [name, p] = part.split('=');
    if (name) m.set(name.trim(), p === undefined ? 1 : Number(p));
  }
  return m;
}

/** mulberry32: a tiny seeded generator, so a failing chaos run can be replayed from its seed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Dies here (SIGKILL, no cleanup) if this point is armed and the dice say so. */
export function crashPoint(name: string): void {
  if (!spec) return;
  const p = spec.get(name) ?? spec.get('*') ?? 0;
  if (p <= 0 || random() >= p) return;
  if (process.env.BATON_CRASH_LOG) appendFileSync(process.env.BATON_CRASH_LOG, `${process.pid} ${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}
