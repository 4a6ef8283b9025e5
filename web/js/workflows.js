// The workflows list and one workflow's page (runs, start form, schedules and backfills, definition).

import { useEffect, useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { href } from './router.js';
import { RunsList } from './runs-list.js';
import { Schedules } from './schedules.js';
import { StartForm } from './start-form.js';
import { ErrorText, html, Time, usePoll } from './ui.js';

function ScheduleState({ name }) {
  const [list] = usePoll(() => api('GET', `/workflows/${enc(name)}/schedules`), [name], { everyMs: 15_000 });
  if (!list) return html`<span class="muted">…</span>`;
  const on = list.schedules.filter((s) => s.enabled).length;
  if (list.schedules.length === 0) return html`<span class="muted">none</span>`;
  const next = list.schedules
    .map((s) => s.nextFireTime)
    .filter(Boolean)
    .sort()[0];
  return html`${on} active, ${list.schedules.length - on} paused${next ? html`; next <${Time} at=${next} />` : ''}`;
}

/** `#/`: every workflow with its description, latest version and schedule state. */
export function WorkflowsPage() {
  const [data, error] = usePoll(() => api('GET', '/workflows'), [], { everyMs: 10_000 });
  return html`<section aria-labelledby="wf-h">
    <h2 id="wf-h">Workflows</h2>
    <${ErrorText} error=${error} />
    ${data && data.workflows.length === 0 ? html`<p class="muted">No workflow yet: <code>PUT /workflows/{name}</code> with a YAML definition.</p>` : null}
    <ul class="cards">
      ${(data?.workflows ?? []).map(
        (w) => html`<li key=${w.name} data-workflow=${w.name}>
          <a class="card-title" href=${href(['workflows', w.name])}>${w.name}</a> <small>v${w.latestVersion}</small>
          <p>${w.description ?? html`<span class="muted">No description.</span>`}</p>
          <p class="small">Schedules: <${ScheduleState} name=${w.name} /> · updated <${Time} at=${w.updatedAt} /></p>
        </li>`,
      )}
    </ul>
  </section>`;
}

function Definition({ name, latest, version }) {
  const [def, setDef] = useState();
  const [error, setError] = useState();
  useEffect(() => {
    // yaml is some sixty modules: loaded when a definition is first shown, not with every page.
    Promise.all([api('GET', `/workflows/${enc(name)}?version=${version}`), import('yaml')]).then(
      ([d, { default: YAML }]) => setDef({ ...d, text: YAML.stringify(d.definition) }),
      setError,
    );
  }, [name, version]);
  const versions = Array.from({ length: latest }, (_, i) => latest - i);
  return html`<section aria-labelledby="def-h">
    <h3 id="def-h">Definition</h3>
    <div class="field inline"><label for="def-version">Version</label>
      <select id="def-version" value=${version} onChange=${(e) => (location.hash = href(['workflows', name], { tab: 'definition', version: e.currentTarget.value }))}>
        ${versions.map((v) => html`<option value=${v}>v${v}${v === latest ? ' (latest)' : ''}</option>`)}
      </select></div>
    <${ErrorText} error=${error} />
    ${def ? html`<p class="small">Saved <${Time} at=${def.createdAt} /></p><pre class="yaml" data-definition>${def.text}</pre>` : null}
  </section>`;
}

function Backfills({ name }) {
  const [page] = usePoll(() => api('GET', `/workflows/${enc(name)}/runs?limit=100`), [name], { everyMs: 10_000 });
  const ids = [...new Set((page?.runs ?? []).filter((r) => r.trigger?.type === 'backfill').map((r) => r.trigger.backfillId))];
  return html`<section aria-labelledby="bf-h"><h3 id="bf-h">Backfills</h3>
    ${ids.length ? html`<ul>${ids.map((id) => html`<li><a href=${href(['backfills', id])}>${id}</a></li>`)}</ul>` : html`<p class="muted">No backfill among the recent runs.</p>`}
  </section>`;
}

const TABS = { runs: 'Runs', start: 'Start a run', schedules: 'Schedules & backfills', definition: 'Definition' };

/** `#/workflows/<name>?tab=runs|start|schedules|definition`. */
export function WorkflowPage({ name, query }) {
  const tab = query.get('tab') in TABS ? query.get('tab') : 'runs';
  const [latest, setLatest] = useState();
  const [error, setError] = useState();
  useEffect(() => {
    setLatest(undefined);
    api('GET', `/workflows/${enc(name)}`).then(setLatest, setError);
  }, [name]);
  if (!latest) return error ? html`<${ErrorText} error=${error} />` : html`<p class="muted">Loading ${name}…</p>`;
  return html`<article>
    <nav class="crumbs" aria-label="Breadcrumb"><a href="#/">Workflows</a> › <span>${name}</span></nav>
    <h2>${name} <small>v${latest.version}</small></h2>
    ${latest.definition.description ? html`<p>${latest.definition.description}</p>` : null}
    <nav class="tabs" aria-label="Workflow sections">
      ${Object.entries(TABS).map(([k, label]) => html`<a href=${href(['workflows', name], { tab: k })} aria-current=${k === tab ? 'page' : undefined}>${label}</a>`)}
    </nav>
    ${tab === 'runs' ? html`<${RunsList} workflow=${name} query=${query} />` : null}
    ${tab === 'start' ? html`<${StartForm} workflow=${name} definition=${latest.definition} />` : null}
    ${tab === 'schedules' ? html`<${Schedules} workflow=${name} /><${Backfills} name=${name} />` : null}
    ${tab === 'definition' ? html`<${Definition} name=${name} latest=${latest.version} version=${Number(query.get('version') ?? latest.version)} />` : null}
  </article>`;
}
