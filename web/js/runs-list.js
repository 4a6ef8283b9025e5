// Runs of a workflow with filters (status on the server; trigger and time here), refreshed live.
import { api, enc } from './api.js';
import { href } from './router.js';
import { ErrorText, html, Status, Time, usePoll } from './ui.js';

const STATUSES = ['', 'pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'];
const TRIGGERS = ['', 'api', 'schedule', 'backfill', 'parent'];
const SINCE = { '': 'any time', '1h': 'last hour', '24h': 'last 24 hours', '7d': 'last 7 days' };
const SINCE_MS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000 };

/** The runs table; filters live in the URL (`?status=&trigger=&since=`), so they survive reload and Back. */
export function RunsList({ workflow, query }) {
  const status = query.get('status') ?? '';
  const trigger = query.get('trigger') ?? '';
  const since = query.get('since') ?? '';
  // The list never ends: new runs appear, so it refreshes every 2 s while shown.
  const [page, error] = usePoll(
    () => api('GET', `/workflows/${enc(workflow)}/runs?${new URLSearchParams({ limit: '100', ...(status ? { status } : {}) })}`),
    [workflow, status],
    { everyMs: 2000 },
  );
  const setFilter = (k, v) => {
    const q = Object.fromEntries(query);
    q[k] = v;
    location.hash = href(['workflows', workflow], q);
  };
  const from = SINCE_MS[since] ? Date.now() - SINCE_MS[since] : 0;
  const runs = (page?.runs ?? []).filter((r) => (!trigger || r.trigger?.type === trigger) && Date.parse(r.createdAt) >= from);
  const select = (id, label, value, options, key) => html`<div class="field inline">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => setFilter(key, e.currentTarget.value)}>
      ${Object.entries(options).map(([v, t]) => html`<option value=${v}>${t}</option>`)}
    </select></div>`;
  return html`<section aria-labelledby="runs-h">
    <h3 id="runs-h">Runs</h3>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      ${select('f-status', 'Status', status, Object.fromEntries(STATUSES.map((s) => [s, s || 'any'])), 'status')}
      ${select('f-trigger', 'Trigger', trigger, Object.fromEntries(TRIGGERS.map((s) => [s, s || 'any'])), 'trigger')}
      ${select('f-since', 'Created', since, SINCE, 'since')}
    </form>
    <${ErrorText} error=${error} />
    <div class="table-wrap">
      <table class="runs">
        <thead><tr><th>Run</th><th>Status</th><th>Trigger</th><th>Version</th><th>Created</th><th>Ended</th></tr></thead>
        <tbody>
          ${runs.map(
            (r) => html`<tr key=${r.runId} data-run-row=${r.runId} data-status=${r.status}>
              <td><a href=${href(['runs', r.runId])}><code class="id">${r.runId}</code></a></td>
              <td><${Status} status=${r.status} /></td>
              <td data-trigger=${r.trigger?.type}>${r.trigger?.type ?? ''}${r.trigger?.scheduleId ? ` ${r.trigger.scheduleId}` : ''}${r.trigger?.backfillId ? ` ${r.trigger.backfillId}` : ''}</td>
              <td>v${r.version}</td><td><${Time} at=${r.createdAt} /></td><td><${Time} at=${r.endedAt} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${page && runs.length === 0 ? html`<p class="muted">No run matches.</p>` : null}
  </section>`;
}
