// The Gantt of every attempt: one bar per attempt (finished ones from `attempts`, plus the one in
// progress), queued → started → ended, on a shared time axis. Lost and failed attempts stay visible.
import { href } from './router.js';
import { duration, html } from './ui.js';

const ms = (iso) => (iso ? Date.parse(iso) : undefined);

/** Every attempt of every task as `{ task, attempt, status, queued?, start?, end?, worker?, error? }`. */
export function attemptsOf(run, now = Date.now()) {
  const out = [];
  for (const t of run.tasks) {
    const done = t.attempts ?? [];
    done.forEach((a, i) => {
      out.push({
        task: t.name,
        attempt: a.attempt,
        key: `${a.attempt}.${i}`,
        status: a.status,
        start: ms(a.startedAt),
        end: ms(a.endedAt),
        worker: a.worker,
        error: a.error,
        marked: a.marked,
      });
    });
    // The attempt in progress (or never run): not in `attempts` until it ends.
    const live = ['queued', 'running', 'waiting'].includes(t.status);
    if (live) {
      out.push({
        task: t.name,
        attempt: t.attempt,
        key: `${t.attempt}.${done.length}`,
        status: t.status,
        queued: ms(t.queuedAt),
        start: ms(t.attemptStartedAt),
        end: undefined,
        worker: t.worker,
        now,
      });
    }
  }
  return out;
}

/** The timeline: rows per task, `[data-task][data-attempt]` per attempt bar. */
export function Timeline({ run }) {
  const now = Date.now();
  const bars = attemptsOf(run, now);
  if (bars.length === 0) return html`<p class="muted">No attempt has started yet.</p>`;
  const times = bars.flatMap((b) => [b.queued, b.start, b.end ?? now]).filter((x) => x !== undefined);
  const t0 = Math.min(...times, ms(run.createdAt) ?? now);
  const t1 = Math.max(...times, ms(run.endedAt) ?? (run.actions?.length ? now : t0 + 1));
  const span = Math.max(t1 - t0, 1);
  const pct = (t) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
  const w = (a, b) => `${Math.max(((b - a) / span) * 100, 0.4).toFixed(3)}%`;
  const rows = run.tasks.filter((t) => bars.some((b) => b.task === t.name));
  return html`
    <div class="timeline" role="list" aria-label="Attempts timeline">
      <div class="tl-axis"><span>0</span><span>${duration(span)}</span></div>
      ${rows.map(
        (t) => html`
          <div class="tl-row" role="listitem">
            <a class="tl-label" href=${href(['runs', run.runId, 'tasks', t.name])}>${t.name}</a>
            <div class="tl-track">
              ${bars
                .filter((b) => b.task === t.name)
                .map((b) => {
                  // An attempt marked succeeded by an operator never started: a thin mark at the time it was marked.
                  const end = b.end ?? now;
                  const start = b.start ?? b.queued ?? (b.end !== undefined ? b.end : now);
                  const label = `${t.name} attempt ${b.attempt}: ${b.status}${b.marked ? ' (marked by an operator)' : ''}${b.start && b.end ? `, ${duration(b.end - b.start)}` : ''}${b.error ? ` (${b.error.reason})` : ''}`;
                  return html`
                    ${
                      b.queued !== undefined && b.start !== undefined
                        ? html`<span class="tl-queued" style=${{ left: pct(b.queued), width: w(b.queued, b.start) }}></span>`
                        : null
                    }
                    <span key=${b.key} class=${`tl-bar s-${b.status}`} data-task=${t.name} data-attempt=${b.attempt} data-status=${b.status}
                      title=${label} aria-label=${label} style=${{ left: pct(start), width: w(start, end) }}>
                      ${b.attempt > 1 || b.status === 'lost' ? html`<small>#${b.attempt}</small>` : null}
                    </span>`;
                })}
            </div>
          </div>`,
      )}
    </div>`;
}
