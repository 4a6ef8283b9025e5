// Shared bits of UI: the htm binding, status badges, times, JSON blocks, and a polling hook.
import htm from 'htm';
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { terminalRunStatuses, terminalTaskStatuses } from './api.js';

export const html = htm.bind(h);

export const Status = ({ status }) => html`<span class=${`status s-${status}`}>${status}</span>`;

/** `2026-01-31 12:00:03` in the viewer's time zone, with the ISO instant as a tooltip. */
export function Time({ at }) {
  if (!at) return html`<span class="muted">–</span>`;
  const d = new Date(at);
  const text = d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  return html`<time datetime=${at} title=${at}>${text}</time>`;
}

/** `1.2 s`, `3 min 4 s`. */
export function duration(ms) {
  if (ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A value pretty-printed as JSON, folded behind a summary when long; never clipped (it wraps). */
export function Json({ value, label = 'value' }) {
  if (value === undefined) return html`<span class="muted">none</span>`;
  const text = JSON.stringify(value, null, 2);
  if (text.length < 160) return html`<pre class="json">${text}</pre>`;
  return html`<details class="json-fold"><summary>${label} (${text.length} characters)</summary><pre class="json">${text}</pre></details>`;
}

export const ErrorText = ({ error }) => (error ? html`<p class="error" role="alert">${String(error.message ?? error)}</p>` : null);

/**
 * Loads `load()` now and again every `everyMs` until `isDone(value)` says the value is final.
 * `deps` restart it. Returns `[value, error, reload]`.
 */
export function usePoll(load, deps, { everyMs = 1000, isDone = async () => false } = {}) {
  const [value, setValue] = useState();
  const [error, setError] = useState();
  const tick = useRef(0);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const me = ++tick.current;
    let timer;
    const step = async () => {
      try {
        const v = await load();
        if (me !== tick.current) return;
        setValue(v);
        setError(undefined);
        if (await isDone(v)) return;
      } catch (err) {
        if (me !== tick.current) return;
        setError(err);
      }
      timer = setTimeout(step, everyMs);
    };
    step();
    return () => {
      tick.current++;
      clearTimeout(timer);
    };
  }, [...deps, nonce]);
  return [value, error, () => setNonce((n) => n + 1)];
}

/** True once a run's status is one the server calls terminal. */
export async function isTerminalRun(run) {
  return (await terminalRunStatuses()).has(run?.status);
}

/** How long a run page keeps polling an ended run whose tasks have not all ended yet. */
const SETTLE_MS = 300_000;

/**
 * A run page's stop condition: the run has ended and so has each of its tasks (never started ones,
 * `blocked`, stay so). A cancel ends the run first and its tasks a moment later (the master does it),
 * so stopping at the run's status alone would leave a cancelled run showing `waiting` for good. A task
 * that never ends stops the polling SETTLE_MS after the run ended, not never.
 */
export function runSettled() {
  let endedSeenAt;
  return async (run) => {
    if (!(await isTerminalRun(run))) {
      endedSeenAt = undefined;
      return false;
    }
    endedSeenAt ??= Date.now();
    const ended = await terminalTaskStatuses();
    return run.tasks.every((t) => t.status === 'blocked' || ended.has(t.status)) || Date.now() - endedSeenAt > SETTLE_MS;
  };
}
