// The start form, generated from the workflow's declared params: one labelled input per param, typed,
// with its default and whether it is required. Submits `POST /workflows/{name}/runs`.
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { href } from './router.js';
import { ErrorText, html } from './ui.js';

const initial = (spec) => {
  if (spec.default === undefined) return spec.type === 'boolean' ? '' : '';
  return spec.type === 'object' || spec.type === 'array' ? JSON.stringify(spec.default, null, 2) : String(spec.default);
};

/** Converts one field's text to the param's type; throws with a message naming the field. */
function convert(name, spec, text) {
  if (spec.type === 'string') return text;
  if (spec.type === 'boolean') return text === 'true';
  if (spec.type === 'number' || spec.type === 'integer') {
    const n = Number(text);
    if (!Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n)))
      throw new Error(`${name}: expected ${spec.type === 'integer' ? 'an integer' : 'a number'}`);
    return n;
  }
  let v;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name}: not JSON (${err.message})`);
  }
  if (spec.type === 'array' ? !Array.isArray(v) : typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error(`${name}: expected ${spec.type === 'array' ? 'a JSON array' : 'a JSON object'}`);
  return v;
}

function Field({ name, spec, value, set }) {
  const id = `param-${name}`;
  const label = html`<label for=${id}>${name}${spec.required ? html` <abbr title="required">*</abbr>` : ''} <small class="muted">${spec.type}</small></label>`;
  const hint = spec.description ? html`<small id=${`${id}-hint`} class="hint">${spec.description}</small>` : null;
  const common = { id, name, 'aria-describedby': spec.description ? `${id}-hint` : undefined, 'data-param': name };
  let input;
  if (spec.type === 'boolean') {
    input = html`<select ...${common} value=${value} onChange=${(e) => set(e.currentTarget.value)} required=${spec.required}>
      ${spec.required ? null : html`<option value="">(not set)</option>`}<option value="true">true</option><option value="false">false</option>
    </select>`;
  } else if (spec.type === 'object' || spec.type === 'array') {
    input = html`<textarea ...${common} rows="3" value=${value} required=${spec.required} placeholder=${spec.type === 'array' ? '[ ]' : '{ }'} onInput=${(e) => set(e.currentTarget.value)}></textarea>`;
  } else {
    const type = spec.type === 'string' ? 'text' : 'number';
    input = html`<input ...${common} type=${type} step=${spec.type === 'integer' ? '1' : 'any'} value=${value} required=${spec.required} onInput=${(e) => set(e.currentTarget.value)} />`;
  }
  return html`<div class="field">${label}${input}${hint}</div>`;
}

/** `<form>` for one workflow definition. */
export function StartForm({ workflow, definition }) {
  const specs = definition.params ?? {};
  const [values, setValues] = useState(() => Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, initial(s)])));
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(undefined);
    try {
      const params = {};
      for (const [name, spec] of Object.entries(specs)) {
        const text = values[name] ?? '';
        if (text === '' && spec.type !== 'string') continue;
        if (text === '' && !spec.required && spec.default === undefined) continue;
        params[name] = convert(name, spec, text);
      }
      setBusy(true);
      const { runId } = await api('POST', `/workflows/${enc(workflow)}/runs`, { params });
      location.hash = href(['runs', runId]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const names = Object.keys(specs);
  return html`<form class="start-form" onSubmit=${submit} aria-label=${`Start a run of ${workflow}`}>
    ${names.length === 0 ? html`<p class="muted">This workflow takes no params.</p>` : null}
    ${names.map((n) => html`<${Field} key=${n} name=${n} spec=${specs[n]} value=${values[n]} set=${(v) => setValues({ ...values, [n]: v })} />`)}
    <${ErrorText} error=${error} />
    <button type="submit" disabled=${busy}>Start run</button>
  </form>`;
}
