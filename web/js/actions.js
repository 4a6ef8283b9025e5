// The run's actions, rendered only when `GET /runs/{id}` lists them in `actions` (and a task's
// `complete` only when the task or the run lists it): the console never offers what the API lacks.
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { html } from './ui.js';

/** Every run action the console knows: label, route, what to confirm. */
const RUN_ACTIONS = {
  cancel: { label: 'Cancel run', confirm: 'Cancel this run? Tasks in progress are abandoned.', danger: true },
  pause: { label: 'Pause', confirm: 'Pause this run? No new task starts until it is resumed.' },
  resume: { label: 'Resume' },
  recover: { label: 'Recover failed tasks', confirm: 'Run the failed tasks (and what depends on them) again?' },
  rerun: { label: 'Rerun', confirm: 'Start a new run of the same version with the same params?' },
};

/**
 * A button that asks for confirmation in a dialog before it calls the API.
 * `onDone(result)` gets the response.
 */
export function ActionButton({ name, label, confirm, danger, disabled, path, body, onDone, onError }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setAsking(false);
    setBusy(true);
    try {
      onDone?.(await api('POST', path, body));
    } catch (err) {
      onError?.(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <span class="action">
      <button type="button" class=${danger ? 'danger' : ''} data-action=${name} disabled=${busy || disabled} onClick=${() => (confirm ? setAsking(true) : go())}>${label}</button>
      ${
        asking
          ? html`<span class="confirm" role="alertdialog" aria-label=${`Confirm ${label}`}>
            <span>${confirm}</span>
            <button type="button" class=${danger ? 'danger' : ''} data-confirm=${name} disabled=${disabled} onClick=${go} ref=${(el) => el?.focus()}>Yes, ${label.toLowerCase()}</button>
            <button type="button" onClick=${() => setAsking(false)}>No</button>
          </span>`
          : null
      }
    </span>`;
}

/**
 * The run's buttons, one per listed action the console knows. A succeeded run recovers only named
 * tasks: its `recover` is offered per task, in the task panel (`RecoverTask`), not here.
 */
export function RunActions({ run, onDone, onError }) {
  const listed = (run.actions ?? []).filter((a) => a in RUN_ACTIONS && !(a === 'recover' && run.status === 'succeeded'));
  if (listed.length === 0) return null;
  return html`<div class="actions" aria-label="Run actions">
    ${listed.map((a) => {
      const spec = RUN_ACTIONS[a];
      return html`<${ActionButton} key=${a} name=${a} ...${spec} path=${`/runs/${enc(run.runId)}/${a}`}
        body=${a === 'recover' ? {} : undefined}
        onDone=${(res) => onDone(a, res)} onError=${onError} />`;
    })}
  </div>`;
}

/** Run a task again, and everything downstream of it (`POST /runs/{id}/recover` with `{ tasks: [name] }`), when the run lists `recover`. */
export function RecoverTask({ run, task, onDone, onError }) {
  if (!(run.actions ?? []).includes('recover') || task.status === 'blocked') return null;
  return html`<div class="actions"><${ActionButton} name="recover-task" label="Run again from here"
    confirm=${`Run ${task.name} and every task after it again, in this run?`}
    path=${`/runs/${enc(run.runId)}/recover`} body=${{ tasks: [task.name] }} onDone=${onDone} onError=${onError} /></div>`;
}

/** Mark a task succeeded with an output (`POST /runs/{id}/tasks/{task}/complete`), when listed. */
export function CompleteTask({ run, task, onDone, onError }) {
  const allowed = (task.actions ?? []).includes('complete');
  const [text, setText] = useState('{}');
  if (!allowed) return null;
  let output;
  let bad;
  try {
    output = JSON.parse(text);
  } catch (err) {
    bad = err.message;
  }
  const id = `complete-${task.name}`;
  return html`<div class="complete">
    <label for=${id}>Output to record (JSON)</label>
    <textarea id=${id} rows="3" value=${text} aria-invalid=${bad ? 'true' : undefined} aria-describedby=${bad ? `${id}-error` : undefined}
      onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    ${bad ? html`<p class="error" id=${`${id}-error`} data-complete-error>Not JSON: ${bad}</p>` : null}
    <${ActionButton} name="complete" label="Mark succeeded" confirm=${`Mark ${task.name} succeeded with this output?`} disabled=${bad !== undefined}
      path=${`/runs/${enc(run.runId)}/tasks/${enc(task.name)}/complete`} body=${{ output }} onDone=${onDone} onError=${onError} />
  </div>`;
}
