import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat` (Linux; fields 14
 * and 15, in clock ticks of 1/100 s, the kernel's USER_HZ on every Linux architecture Node runs on).
 * NaN where there is no /proc or the process is gone.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Where the CPU went over a measured window: each engine process, DynamoDB Local, and the bench itself. */
export interface CpuWindow {
  wallSec: number;
  /** CPU seconds of each engine process, in the order of the processes. */
  engineSec: number[];
  /** CPU seconds of the DynamoDB Local JVM (NaN with an endpoint this process did not start). */
  dynamoSec: number;
  /** CPU seconds of the bench process (starting runs through the API, polling for their ends). */
  benchSec: number;
}

/** Starts measuring; the returned function ends the window. */
export function cpuWindow(enginePids: number[], dynamoPid: number | undefined): () => CpuWindow {
  const t0 = Date.now();
  const e0 = enginePids.map(cpuSeconds);
  const d0 = cpuSeconds(dynamoPid);
  const b0 = process.cpuUsage();
  return () => {
    const b = process.cpuUsage(b0);
    return {
      wallSec: (Date.now() - t0) / 1000,
      engineSec: enginePids.map((p, i) => cpuSeconds(p) - (e0[i] as number)),
      dynamoSec: cpuSeconds(dynamoPid) - d0,
      benchSec: (b.user + b.system) / 1e6,
    };
  };
}
