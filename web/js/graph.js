// The run's DAG, laid out by dagre from each task's `after`, one node per task with its live status.
import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { href } from './router.js';
import { html } from './ui.js';

const NODE_W = 150;
const NODE_H = 40;

/** Positions of nodes and edge paths; recomputed only when the shape (names and `after`) changes. */
function layout(tasks) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 44, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of tasks) g.setNode(t.name, { width: NODE_W, height: NODE_H });
  for (const t of tasks) for (const dep of t.after ?? []) if (g.hasNode(dep)) g.setEdge(dep, t.name);
  dagre.layout(g);
  const nodes = new Map(g.nodes().map((n) => [n, g.node(n)]));
  const edges = g.edges().map((e) => ({ key: `${e.v}->${e.w}`, points: g.edge(e).points }));
  return { nodes, edges, width: g.graph().width ?? 0, height: g.graph().height ?? 0 };
}

const short = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The graph: `<g data-task data-status>` per task, each a link to the task's panel. */
export function Graph({ run, selected }) {
  const shape = run.tasks.map((t) => `${t.name}<${(t.after ?? []).join(',')}`).join(';');
  const lay = useMemo(() => layout(run.tasks), [shape]);
  return html`
    <div class="graph-wrap">
      <svg class="graph" viewBox=${`0 0 ${lay.width} ${lay.height}`} width=${lay.width} role="group" aria-label="Task graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
          </marker>
        </defs>
        ${lay.edges.map(
          (e) =>
            html`<polyline key=${e.key} class="edge" marker-end="url(#arrow)" points=${e.points.map((p) => `${p.x},${p.y}`).join(' ')} />`,
        )}
        ${run.tasks.map((t) => {
          const n = lay.nodes.get(t.name);
          if (!n) return null;
          return html`
            <a key=${t.name} href=${href(['runs', run.runId, 'tasks', t.name])} aria-label=${`${t.name}: ${t.status}`}>
              <g class=${`node s-${t.status}${selected === t.name ? ' selected' : ''}`} data-task=${t.name} data-status=${t.status}
                transform=${`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}>
                <title>${t.name} (${t.type}): ${t.status}${t.attempt > 1 ? `, attempt ${t.attempt}` : ''}</title>
                <rect width=${NODE_W} height=${NODE_H} rx="6" />
                <text x="10" y="17" class="node-name">${short(t.name, 18)}</text>
                <text x="10" y="32" class="node-status">${t.status}${t.attempt > 1 ? ` · #${t.attempt}` : ''}</text>
              </g>
            </a>`;
        })}
      </svg>
    </div>`;
}
