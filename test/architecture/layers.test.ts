import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The house rules that a reviewer would otherwise have to remember, checked on every `npm test`:
 * no import circle, the lower layers never reach up, and only the store knows the key layout.
 * Imports are read with TypeScript's own pre-processor (no regexes over code), so `import type`,
 * re-exports and dynamic imports all count.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const functions = join(root, 'functions');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every file under functions/ (relative, e.g. `tasks/lambda.ts`) with the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(functions)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const local = info.importedFiles
      .map((f) => f.fileName)
      .filter((f) => f.startsWith('.'))
      .map((f) => relative(functions, resolve(dirname(file), f.replace(/\.js$/, '.ts'))));
    graph.set(relative(functions, file), local);
  }
  return graph;
}

/** The import circles of the graph (each as a path that returns to its start), by depth-first search. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    path.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push([...path.slice(path.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

const layer = (file: string) => file.split('/')[0] ?? '';

describe('architecture', () => {
  const graph = importGraph();

  it('reads the whole tree (a guard against the checks below passing on nothing)', () => {
    expect(graph.get('tasks/lambda.ts')).toContain('tasks/executor.ts');
    expect(graph.size).toBeGreaterThan(50);
  });

  it('has no import circle', () => {
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('finds a circle when there is one (the check itself works)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('keeps the layers pointing down: store/, engine/ and tasks/ never import orchestrator/, local/, api/, handlers/ or cli/', () => {
    const upper = new Set(['orchestrator', 'local', 'api', 'handlers', 'cli']);
    const lower = new Set(['store', 'engine', 'tasks', 'common']);
    const wrong = [...graph].flatMap(([f, deps]) =>
      lower.has(layer(f)) ? deps.filter((d) => upper.has(layer(d))).map((d) => `${f} → ${d}`) : [],
    );
    expect(wrong).toEqual([]);
  });

  it('the store imports nothing above it but the engine types its items carry', () => {
    const wrong = [...graph].flatMap(([f, deps]) =>
      layer(f) === 'store' ? deps.filter((d) => !['store', 'common', 'engine'].includes(layer(d))).map((d) => `${f} → ${d}`) : [],
    );
    expect(wrong).toEqual([]);
  });

  it('gives each orchestrator concept one home: no call across sweeper, worker, master and scheduler by accident', () => {
    // Each pair is a file and one it must not import, with the file that now owns what it used to take.
    const forbidden: [string, string, string][] = [
      ['orchestrator/sweeper.ts', 'orchestrator/worker.ts', 'attempt-ending.ts owns decide'],
      ['orchestrator/sweeper.ts', 'orchestrator/master.ts', 'run-start.ts owns startRun'],
      ['orchestrator/sweeper.ts', 'orchestrator/scheduler.ts', 'due-items.ts routes schedules, backfills, pending runs'],
      ['orchestrator/master.ts', 'orchestrator/scheduler.ts', 'run-end.ts owns onRunEnded'],
      ['orchestrator/scheduler.ts', 'orchestrator/backfill.ts', 'due-items.ts and run-end.ts route to backfills'],
      ['orchestrator/scheduler.ts', 'orchestrator/concurrency.ts', 'due-items.ts and run-end.ts route to the gate'],
    ];
    for (const [from] of forbidden) expect(graph.has(from), from).toBe(true);
    const wrong = forbidden.filter(([from, to]) => graph.get(from)?.includes(to)).map(([f, t, why]) => `${f} → ${t} (${why})`);
    expect(wrong).toEqual([]);
  });

  it('store/schedules.ts keeps the concurrency gate and writes no run item (store/runs.ts owns run transitions)', () => {
    const text = readFileSync(join(functions, 'store/schedules.ts'), 'utf8');
    expect(text).not.toMatch(/keys\.run\(/);
  });

  it('builds keys only in functions/store/: no key prefix literal, no key attribute, no table layout elsewhere', () => {
    // `RUN#…`, `DUE#3`, `SCHED#…`: the prefixes of the key layout (store/items.ts and its neighbours).
    const prefix = /['"`](RUN|TASK|CHILD|DEF|SCHED|BACKFILL|CONC|DUE|WF|V)#/;
    // Naming the key attributes (`pk:`, `.pk`, `'dueAt'`) or reading the table layout (`TABLE.dueIndex`).
    const attribute = /\b(pk|sk)\s*:|\.(pk|sk)\b|['"`](dueAt|dueShard|wfPk|wfSk|expiresAt)['"`]|\bTABLE\./;
    const comment = /^\s*(\/\/|\/\*|\*)/;
    const wrong: string[] = [];
    for (const file of sources(functions)) {
      const rel = relative(functions, file);
      if (layer(rel) === 'store' || ALLOWED.has(rel)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!comment.test(line) && (prefix.test(line) || attribute.test(line))) wrong.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(wrong).toEqual([]);
  });
});

/**
 * Files outside the store that still build a key, each with the store function that replaces it.
 * Empty this set; never add to it.
 */
const ALLOWED = new Set<string>([
  // `queryAll(\`RUN#${run.runId}\`, 'CHILD#')`: becomes `listChildLinks(db, runId)` (store/runs.ts), owned by the HTTP-layer work.
  'api/app.ts',
]);
