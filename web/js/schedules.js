// A workflow's schedules (cron, next fire times, pause / resume) and a backfill's progress.
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { href } from './router.js';
import { ErrorText, html, Status, Time, usePoll } from './ui.js';

/** The next three fire times, in the viewer's zone and in the schedule's; reloaded when the schedule is paused or resumed. */
function NextTimes({ workflow, id, enabled }) {
  const [next] = usePoll(() => api('GET', `/workflows/${enc(workflow)}/schedules/${enc(id)}/next?count=3`), [workflow, id, enabled], {
    everyMs: 30_000,
  });
  if (!next) return null;
  if (!next.enabled) return html`<span class="muted" data-next="paused">paused</span>`;
  return html`<ul class="plain">${next.fireTimes.map(
    (t) => html`<li data-fire=${t.utc}><${Time} at=${t.utc} /> <small class="muted">(${t.local} ${next.timezone})</small></li>`,
  )}</ul>`;
}

/** `GET /workflows/{name}/schedules`, with pause and resume. */
export function Schedules({ workflow }) {
  const [error, setError] = useState();
  const [list, loadError, reload] = usePoll(() => api('GET', `/workflows/${enc(workflow)}/schedules`), [workflow], { everyMs: 10_000 });
  const toggle = async (s) => {
    try {
      await api('POST', `/workflows/${enc(workflow)}/schedules/${enc(s.scheduleId)}/${s.enabled ? 'pause' : 'resume'}`);
      reload();
    } catch (err) {
      setError(err);
    }
  };
  const schedules = list?.schedules ?? [];
  return html`<section aria-labelledby="sched-h">
    <h3 id="sched-h">Schedules</h3>
    <${ErrorText} error=${loadError ?? error} />
    ${list && schedules.length === 0 ? html`<p class="muted">No schedule. <code>PUT /workflows/${workflow}/schedules/{id}</code> adds one.</p>` : null}
    ${
      schedules.length
        ? html`<div class="table-wrap"><table>
          <thead><tr><th>Schedule</th><th>Cron</th><th>State</th><th>Next fire times</th><th>Last</th><th></th></tr></thead>
          <tbody>${schedules.map(
            (s) => html`<tr key=${s.scheduleId} data-schedule=${s.scheduleId}>
              <td>${s.scheduleId}</td><td><code>${s.cron}</code> ${s.timezone}</td>
              <td data-state=${s.enabled ? 'active' : 'paused'}>${s.enabled ? 'active' : 'paused'}${s.lastError ? html`<p class="error">${s.lastError.message}</p>` : null}</td>
              <td><${NextTimes} workflow=${workflow} id=${s.scheduleId} enabled=${s.enabled} /></td>
              <td>${s.lastFire?.runId ? html`<a href=${href(['runs', s.lastFire.runId])}><${Time} at=${s.lastFire.fireTime} /></a>` : '–'}</td>
              <td><button type="button" data-schedule-action=${s.enabled ? 'pause' : 'resume'} aria-label=${`${s.enabled ? 'Pause' : 'Resume'} schedule ${s.scheduleId}`} onClick=${() => toggle(s)}>${s.enabled ? 'Pause' : 'Resume'}</button></td>
            </tr>`,
          )}</tbody></table></div>`
        : null
    }
  </section>`;
}

/** `#/backfills/<id>`: progress and the runs it started; polled until it ends. */
export function BackfillPage({ id }) {
  const [b, error] = usePoll(() => api('GET', `/backfills/${enc(id)}`), [id], {
    everyMs: 2000,
    isDone: async (v) => v?.status !== 'running',
  });
  if (!b) return error ? html`<${ErrorText} error=${error} />` : html`<p class="muted">Loading backfill…</p>`;
  const p = b.progress;
  const finished = p.done + p.failed + p.skipped + p.alreadyRan;
  return html`<article>
    <nav class="crumbs"><a href="#/">Workflows</a> › <a href=${href(['workflows', b.workflow])}>${b.workflow}</a> › backfill</nav>
    <h2>Backfill <code class="id">${b.backfillId}</code> <${Status} status=${b.status} /></h2>
    <p><code>${b.cron}</code> ${b.timezone}, <${Time} at=${b.start} /> to <${Time} at=${b.end} />, ${b.mode}, parallelism ${b.parallelism}</p>
    <label for="bf-progress" data-progress=${`${finished}/${p.total}`}>Progress: ${finished} of ${p.total} (${p.failed} failed, ${p.running} running)</label>
    <progress id="bf-progress" max=${p.total || 1} value=${finished}></progress>
    <div class="table-wrap"><table><thead><tr><th>Fire time</th><th>Run</th><th>Status</th></tr></thead>
      <tbody>${b.runs.map((r) => html`<tr key=${r.runId} data-backfill-run=${r.runId}><td><${Time} at=${r.fireTime} /></td><td><a href=${href(['runs', r.runId])}><code class="id">${r.runId}</code></a></td><td>${r.status}</td></tr>`)}</tbody>
    </table></div>
  </article>`;
}
