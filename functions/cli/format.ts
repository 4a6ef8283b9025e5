/** Human-readable summary of a run, for `baton runs get`. */
export function formatRun(r: any): string {
  const lines = [`run ${r.runId}  ${r.workflow} v${r.version}  ${r.status}`, `  started ${r.startedAt ?? '-'}  ended ${r.endedAt ?? '-'}`];
  if (r.failure) lines.push(`  failure: ${r.failure.task}: ${r.failure.reason}: ${r.failure.message}`);
  const width = Math.max(4, ...r.tasks.map((t: any) => t.name.length));
  for (const t of r.tasks) {
    const extra = t.error ? `  ${t.error.reason}: ${t.error.message}` : t.wakeAt ? `  wakes ${t.wakeAt}` : '';
    lines.push(`  ${t.name.padEnd(width)}  ${t.status.padEnd(9)}  attempt ${t.attempt}${extra}`);
  }
  for (const c of r.children ?? []) lines.push(`  child ${c.task}#${c.attempt} -> ${c.runId} (${c.workflow})`);
  return lines.join('\n');
}
