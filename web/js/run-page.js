// The run page: header (status, trigger, parent, children, params, actions), graph, timeline, and the
// panel of the selected task. Polls until the server says the run's status is terminal.
import { useState } from 'preact/hooks';
import { CompleteTask, RecoverTask, RunActions } from './actions.js';
import { api, enc } from './api.js';
import { Graph } from './graph.js';
import { href } from './router.js';
import { Timeline } from './timeline.js';
import { duration, ErrorText, html, Json, runSettled, Status, Time, usePoll } from './ui.js';

/** Where a run came from, as a sentence with links. */
export function TriggerText({ trigger, workflow }) {
  if (!trigger) return null;
  switch (trigger.type) {
    case 'schedule':
      return html`schedule <a href=${href(['workflows', workflow], { tab: 'schedules' })}>${trigger.scheduleId}</a>, fire time <${Time} at=${trigger.fireTime} />${trigger.misfired ? ' (misfired)' : ''}`;
    case 'backfill':
      return html`backfill <a href=${href(['backfills', trigger.backfillId])}>${trigger.backfillId}</a>, fire time <${Time} at=${trigger.fireTime} />`;
    case 'parent':
      return html`parent run <a href=${href(['runs', trigger.runId])}>${trigger.runId}</a> (task ${trigger.task})`;
    default:
      return html`${trigger.type}${trigger.identity ? ` by ${trigger.identity}` : ''}`;
  }
}

function TaskPanel({ run, task, onChanged, onError }) {
  if (!task) return html`<p class="muted">Select a task in the graph or the timeline to see its attempts.</p>`;
  const children = run.children.filter((c) => c.task === task.name);
  const live = ['queued', 'running', 'waiting'].includes(task.status);
  return html`
    <section class="task-panel" aria-labelledby="task-title" data-panel=${task.name}>
      <h3 id="task-title">${task.name} <${Status} status=${task.status} /></h3>
      <dl class="facts">
        <dt>Type</dt><dd>${task.type}</dd>
        <dt>After</dt><dd>${task.after?.length ? task.after.map((a) => html`<a href=${href(['runs', run.runId, 'tasks', a])}>${a}</a> `) : 'nothing'}</dd>
        <dt>Attempt</dt><dd>${task.attempt}</dd>
        <dt>Queued</dt><dd><${Time} at=${task.queuedAt} /></dd>
        <dt>Started</dt><dd><${Time} at=${task.startedAt} /></dd>
        <dt>Ended</dt><dd><${Time} at=${task.endedAt} /></dd>
        ${task.wakeAt ? html`<dt>Wakes</dt><dd><${Time} at=${task.wakeAt} /></dd>` : null}
      </dl>
      ${task.error ? html`<div class="task-error" data-error=${task.name}><strong>${task.error.reason}</strong><pre class="json">${task.error.message}</pre></div>` : null}
      <h4>Output</h4>
      <${Json} value=${task.output} label="output" />
      ${children.length ? html`<h4>Child runs</h4><ul>${children.map((c) => html`<li><a href=${href(['runs', c.runId])}>${c.runId}</a> (${c.workflow}, attempt ${c.attempt})</li>`)}</ul>` : null}
      <h4>Attempts</h4>
      <div class="table-wrap">
        <table class="attempts">
          <thead><tr><th>#</th><th>Status</th><th>Started</th><th>Ended</th><th>Took</th><th>Worker</th><th>Error</th></tr></thead>
          <tbody>
            ${(task.attempts ?? []).map(
              (a) => html`<tr data-attempt-row=${a.attempt}>
                <td>${a.attempt}</td><td><${Status} status=${a.status} /></td><td><${Time} at=${a.startedAt} /></td><td><${Time} at=${a.endedAt} /></td>
                <td>${a.startedAt && a.endedAt ? duration(Date.parse(a.endedAt) - Date.parse(a.startedAt)) : ''}</td>
                <td class="wrap">${a.worker ?? ''}</td>
                <td class="wrap">${a.error ? html`<strong>${a.error.reason}</strong>: <span class="pre">${a.error.message}</span>` : ''}</td>
              </tr>`,
            )}
            ${
              live
                ? html`<tr><td>${task.attempt}</td><td><${Status} status=${task.status} /></td><td><${Time} at=${task.attemptStartedAt} /></td><td>–</td><td></td><td class="wrap">${task.worker ?? ''}</td><td></td></tr>`
                : null
            }
          </tbody>
        </table>
      </div>
      <${RecoverTask} run=${run} task=${task} onDone=${() => onChanged('recover')} onError=${onError} />
      <${CompleteTask} run=${run} task=${task} onDone=${() => onChanged('complete')} onError=${onError} />
    </section>`;
}

/** `#/runs/<id>` and `#/runs/<id>/tasks/<task>`. */
export function RunPage({ runId, taskName }) {
  const [actionError, setActionError] = useState();
  const [notice, setNotice] = useState();
  const [settled] = useState(runSettled);
  const [run, error, reload] = usePoll(() => api('GET', `/runs/${enc(runId)}`), [runId], { isDone: settled });
  if (!run) return error ? html`<${ErrorText} error=${error} />` : html`<p class="muted" aria-busy="true">Loading run ${runId}…</p>`;
  const task = run.tasks.find((t) => t.name === taskName);
  const parent = run.parent;
  const onDone = (action, res) => {
    setActionError(undefined);
    if (action === 'rerun' && res?.runId) location.hash = href(['runs', res.runId]);
    else setNotice(`${action}: done`);
    reload();
  };
  return html`
    <article class="run" data-run=${run.runId} data-run-status=${run.status}>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="#/">Workflows</a> › <a href=${href(['workflows', run.workflow])}>${run.workflow}</a> › <span>run</span>
      </nav>
      <h2>Run <code class="id">${run.runId}</code> <${Status} status=${run.status} /></h2>
      <${ErrorText} error=${error} />
      <dl class="facts">
        <dt>Workflow</dt><dd><a href=${href(['workflows', run.workflow])}>${run.workflow}</a> v${run.version}</dd>
        <dt>Trigger</dt><dd data-trigger=${run.trigger?.type}><${TriggerText} trigger=${run.trigger} workflow=${run.workflow} /></dd>
        ${parent ? html`<dt>Parent</dt><dd><a data-parent href=${href(['runs', parent.runId, 'tasks', parent.task])}>${parent.runId}</a> (task ${parent.task}, attempt ${parent.attempt})</dd>` : null}
        <dt>Created</dt><dd><${Time} at=${run.createdAt} /></dd>
        <dt>Started</dt><dd><${Time} at=${run.startedAt} /></dd>
        <dt>Ended</dt><dd><${Time} at=${run.endedAt} />${run.startedAt && run.endedAt ? ` (${duration(Date.parse(run.endedAt) - Date.parse(run.startedAt))})` : ''}</dd>
        ${run.skipReason ? html`<dt>Skipped</dt><dd>${run.skipReason}</dd>` : null}
      </dl>
      ${run.failure ? html`<p class="error" role="alert">Failed at <a href=${href(['runs', run.runId, 'tasks', run.failure.task])}>${run.failure.task}</a>: ${run.failure.reason}: <span class="pre">${run.failure.message}</span></p>` : null}
      <${RunActions} run=${run} onDone=${onDone} onError=${setActionError} />
      <${ErrorText} error=${actionError} />
      ${notice ? html`<p role="status">${notice}</p>` : null}
      <details class="params" open=${Object.keys(run.params ?? {}).length < 6}>
        <summary>Params</summary><${Json} value=${run.params} label="params" />
      </details>
      ${
        run.children.length
          ? html`<details class="children" open><summary>Child runs (${run.children.length})</summary>
            <ul>${run.children.map((c) => html`<li><a data-child href=${href(['runs', c.runId])}>${c.runId}</a> ${c.workflow}, from task ${c.task} #${c.attempt}</li>`)}</ul>
          </details>`
          : null
      }
      <h3>Graph</h3>
      <${Graph} run=${run} selected=${taskName} />
      <h3>Timeline</h3>
      <${Timeline} run=${run} />
      <h3>Task</h3>
      <${TaskPanel} run=${run} task=${task} onChanged=${(action) => onDone(action)} onError=${setActionError} />
      ${run.output !== undefined ? html`<h3>Run output</h3><${Json} value=${run.output} label="output" />` : null}
    </article>`;
}
