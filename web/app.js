// Baton console: plain browser JavaScript over the HTTP API, no build step.
const $ = (sel) => document.querySelector(sel);
const state = { workflow: undefined, run: undefined, cursor: undefined, timer: undefined };
const apiInput = $('#api');
const tokenInput = $('#token');
apiInput.value = localStorage.getItem('baton.api') ?? '';
apiInput.addEventListener('change', () => {
  localStorage.setItem('baton.api', apiInput.value.trim());
  loadWorkflows();
});
tokenInput.addEventListener('change', () => loadWorkflows());

async function api(method, path, body) {
  const base = apiInput.value.trim() || location.origin;
  const headers = { 'content-type': 'application/json' };
  if (tokenInput.value) headers.authorization = `Bearer ${tokenInput.value}`;
  const res = await fetch(new URL(path, base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = json.error ?? {};
    const details = (e.details ?? []).map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new Error(`${res.status} ${e.code ?? ''} ${e.message ?? ''}${details ? ` (${details})` : ''}`);
  }
  return json;
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
};
const badge = (status) => el('span', { class: `status ${status}` }, status);
const say = (text, error = false) => {
  $('#message').textContent = text;
  $('#message').className = error ? 'error' : '';
};

async function loadWorkflows() {
  try {
    const { workflows } = await api('GET', '/workflows');
    const list = $('#workflows');
    list.replaceChildren(
      ...workflows.map((w) => {
        const li = el('li', { class: w.name === state.workflow ? 'active' : '' }, `${w.name} `, el('small', {}, `v${w.latestVersion}`));
        li.title = w.description ?? '';
        li.onclick = () => selectWorkflow(w.name);
        return li;
      }),
    );
    if (workflows.length === 0) list.replaceChildren(el('li', {}, 'No workflows yet: PUT /workflows/{name}'));
  } catch (err) {
    say(err.message, true);
  }
}

async function selectWorkflow(name) {
  state.workflow = name;
  state.cursor = undefined;
  $('#runs-title').textContent = `Runs of ${name}`;
  $('#start-form').hidden = false;
  $('#runs tbody').replaceChildren();
  await loadWorkflows();
  await loadRuns();
}

async function loadRuns(append = false) {
  const q = new URLSearchParams({ limit: '20' });
  if (append && state.cursor) q.set('cursor', state.cursor);
  try {
    const { runs, cursor } = await api('GET', `/workflows/${encodeURIComponent(state.workflow)}/runs?${q}`);
    state.cursor = cursor;
    $('#more').hidden = !cursor;
    const rows = runs.map((r) => {
      const tr = el(
        'tr',
        { class: r.runId === state.run ? 'active' : '' },
        el('td', {}, r.runId),
        el('td', {}, badge(r.status)),
        el('td', {}, `v${r.version}`),
        el('td', {}, r.createdAt.replace('T', ' ').slice(0, 19)),
      );
      tr.onclick = () => selectRun(r.runId);
      return tr;
    });
    append ? $('#runs tbody').append(...rows) : $('#runs tbody').replaceChildren(...rows);
  } catch (err) {
    say(err.message, true);
  }
}

async function selectRun(runId) {
  state.run = runId;
  clearTimeout(state.timer);
  try {
    const r = await api('GET', `/runs/${encodeURIComponent(runId)}`);
    renderRun(r);
    if (!['succeeded', 'failed', 'cancelled'].includes(r.status)) state.timer = setTimeout(() => selectRun(runId), 1000);
    else loadRuns();
  } catch (err) {
    say(err.message, true);
  }
}

function renderRun(r) {
  $('#run-title').replaceChildren(`Run ${r.runId} `, badge(r.status));
  const rows = r.tasks.map((t) =>
    el(
      'tr',
      {},
      el('td', {}, t.name),
      el('td', {}, t.type),
      el('td', {}, badge(t.status)),
      el('td', {}, t.attempt),
      el('td', {}, t.error ? `${t.error.reason}: ${t.error.message}` : t.wakeAt ? `wakes ${t.wakeAt}` : ''),
    ),
  );
  const parts = [
    el('p', {}, `${r.workflow} v${r.version} · trigger ${r.trigger?.type} · started ${r.startedAt ?? '-'} · ended ${r.endedAt ?? '-'}`),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...['task', 'type', 'status', 'attempt', 'detail'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows),
    ),
  ];
  if (!['succeeded', 'failed', 'cancelled', 'skipped'].includes(r.status)) {
    const stop = el('button', {}, 'Cancel run');
    stop.onclick = async () => {
      try {
        await api('POST', `/runs/${encodeURIComponent(r.runId)}/cancel`);
        say(`cancelled ${r.runId}`);
        selectRun(r.runId);
      } catch (err) {
        say(err.message, true);
      }
    };
    parts.push(stop);
  }
  if (r.failure) parts.push(el('pre', {}, `failure: ${r.failure.task}: ${r.failure.reason}: ${r.failure.message}`));
  if (r.children?.length)
    parts.push(
      el('h3', {}, 'Children'),
      ...r.children.map((c) => {
        const a = el('a', { href: '#' }, `${c.task}#${c.attempt} → ${c.runId} (${c.workflow})`);
        a.onclick = (e) => {
          e.preventDefault();
          selectRun(c.runId);
        };
        return el('div', {}, a);
      }),
    );
  if (r.output !== undefined) parts.push(el('h3', {}, 'Output'), el('pre', {}, JSON.stringify(r.output, null, 2)));
  $('#run').replaceChildren(...parts);
}

$('#start-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  let params = {};
  const text = $('#params').value.trim();
  if (text) {
    try {
      params = JSON.parse(text);
    } catch (err) {
      return say(`params: not JSON: ${err.message}`, true);
    }
  }
  try {
    const { runId } = await api('POST', `/workflows/${encodeURIComponent(state.workflow)}/runs`, { params });
    say(`started ${runId}`);
    await loadRuns();
    await selectRun(runId);
  } catch (err) {
    say(err.message, true);
  }
});
$('#more').onclick = () => loadRuns(true);
loadWorkflows();
