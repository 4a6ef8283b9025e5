import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findReferences,
  hasTemplate,
  type RenderScope,
  render,
  scanTemplates,
  TemplateError,
} from '../../functions/engine/definition/index.js';

const scope: RenderScope = {
  params: { day: '2024-05-01', limit: 10, flags: { a: true }, nothing: null },
  tasks: {
    extract: { output: { rows: [{ id: 1 }, { id: 2 }], count: 2, 'odd key': 'x' } },
    empty: { output: undefined },
  },
  run: { id: 'r-1', workflow: 'nightly-report' },
  task: { name: 'summarize', attempt: 3 },
};

describe('findReferences / scanTemplates', () => {
  it('finds references in nested values, not in keys', () => {
    const refs = findReferences({
      a: '${params.day}',
      '${params.notme}': 1,
      b: ['x ${tasks.extract.output.rows[0].id} y', { c: '${run.id}-${task.attempt}' }],
      d: 42,
    });
    expect(refs).toEqual([
      { kind: 'params', name: 'day', path: [], raw: '${params.day}' },
      { kind: 'tasks', name: 'extract', path: ['rows', 0, 'id'], raw: '${tasks.extract.output.rows[0].id}' },
      { kind: 'run', name: 'id', path: [], raw: '${run.id}' },
      { kind: 'task', name: 'attempt', path: [], raw: '${task.attempt}' },
    ]);
  });

  it('parses quoted keys and whitespace', () => {
    expect(findReferences('${ tasks.extract.output["odd key"] }')).toEqual([
      { kind: 'tasks', name: 'extract', path: ['odd key'], raw: '${ tasks.extract.output["odd key"] }' },
    ]);
    expect(findReferences("${params.p['a}b']}")[0]?.path).toEqual(['a}b']);
  });

  it('reports malformed templates with where they were found', () => {
    const scan = scanTemplates({
      x: ['ok', 'a ${params.day'],
      y: '${}',
      z: '${foo.bar}',
      w: '${tasks.a.rows}',
      v: '${run.nope}',
      u: '${params.a..b}',
    });
    expect(scan.references).toEqual([]);
    expect(scan.errors.map((e) => [e.at, e.message])).toEqual([
      [['x', 1], 'unclosed template (missing "}")'],
      [['y'], 'empty template'],
      [['z'], 'unknown root "foo" (expected params, tasks, run, task, secrets, item or index)'],
      [['w'], 'expected ${tasks.TASK.output...}'],
      [['v'], 'expected ${run.id} or ${run.workflow}'],
      [['u'], 'malformed template'],
    ]);
  });

  it('ignores escaped templates', () => {
    expect(scanTemplates('$${params.day}')).toEqual({ references: [], errors: [] });
    expect(hasTemplate('$${params.day}')).toBe(false);
    expect(hasTemplate('a ${params.day}')).toBe(true);
    expect(hasTemplate('a ${oops')).toBe(true);
  });
});

describe('render', () => {
  it('keeps the type of a lone template', () => {
    expect(render('${params.limit}', scope)).toBe(10);
    expect(render('${params.flags}', scope)).toEqual({ a: true });
    expect(render('${params.nothing}', scope)).toBeNull();
    expect(render('${tasks.extract.output.rows}', scope)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(render('${tasks.extract.output.rows[1].id}', scope)).toBe(2);
    expect(render('${task.attempt}', scope)).toBe(3);
  });

  it('stringifies embedded templates', () => {
    expect(render('day=${params.day}&n=${params.limit}', scope)).toBe('day=2024-05-01&n=10');
    expect(render('rows: ${tasks.extract.output.rows}', scope)).toBe('rows: [{"id":1},{"id":2}]');
    expect(render('${run.workflow}/${run.id}/${task.name}#${task.attempt}', scope)).toBe('nightly-report/r-1/summarize#3');
    expect(render('v=${params.nothing} ${params.flags.a}', scope)).toBe('v=null true');
  });

  it('deep-renders without touching keys or the input', () => {
    const input = { '${params.day}': ['${params.limit}', { n: 1, b: false, s: 'plain' }] };
    const copy = structuredClone(input);
    expect(render(input, scope)).toEqual({ '${params.day}': [10, { n: 1, b: false, s: 'plain' }] });
    expect(input).toEqual(copy);
  });

  it('unescapes $${', () => {
    expect(render('$${params.day}', scope)).toBe('${params.day}');
    expect(render('cost: $${x} and ${params.limit}', scope)).toBe('cost: ${x} and 10');
    expect(render('$$ and $', scope)).toBe('$$ and $');
  });

  it.each([
    ['${params.missing}', 'template ${params.missing}: param "missing" has no value'],
    ['${tasks.nope.output}', 'template ${tasks.nope.output}: task "nope" has no output'],
    ['${tasks.empty.output.x}', 'template ${tasks.empty.output.x}: task "empty" has no output'],
    ['x ${tasks.extract.output.total}', 'template ${tasks.extract.output.total}: tasks.extract.output has no "total"'],
    ['${tasks.extract.output.rows[5].id}', 'template ${tasks.extract.output.rows[5].id}: tasks.extract.output.rows has no [5]'],
    ['${params.day.x}', 'template ${params.day.x}: params.day has no "x"'],
    ['${params.day', 'template ${params.day: unclosed template (missing "}")'],
    ['${bogus}', 'template ${bogus}: unknown root "bogus" (expected params, tasks, run, task, secrets, item or index)'],
  ])('throws TemplateError for %s', (template, message) => {
    let error: unknown;
    try {
      render({ nested: [template] }, scope);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).message).toBe(message);
  });

  it('does not read inherited properties', () => {
    expect(() => render('${params.day.length}', scope)).toThrow(TemplateError);
    expect(() => render('${tasks.extract.output.constructor}', scope)).toThrow(TemplateError);
  });

  it('is the identity on template-free values (property)', () => {
    const noTemplates = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('${'));
    fc.assert(
      fc.property(noTemplates, (v) => {
        expect(render(v, scope)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});
