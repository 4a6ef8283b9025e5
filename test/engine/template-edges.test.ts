import { describe, expect, it } from 'vitest';
import { findReferences, type RenderScope, render, scanTemplates, TemplateError } from '../../functions/engine/definition/index.js';

/**
 * The template grammar at its edges (roots that take no path, quoted keys and their escapes, secrets and
 * the params that carry them): what a task's fields render to, or the message that fails the attempt.
 */
const scope: RenderScope = {
  params: {
    conn: 'postgres://app:${secrets.DB_PASSWORD}@db',
    key: '${secrets.API_KEY}',
    nested: { list: ['${secrets.API_KEY}', 7, null, true], plain: 'x' },
    other: '${params.conn} and ${secrets.API_KEY} and ${oops',
    escaped: '$${secrets.API_KEY}',
    noSecret: 'see ${params.key}',
    nothing: null,
    flags: { a: true },
    list: [1, 2],
  },
  tasks: { up: { output: { text: '${secrets.API_KEY}', list: [10, undefined, 30] } } },
  run: { id: 'r-1', workflow: 'wf' },
  task: { name: 'load', attempt: 2 },
};

const secrets: Record<string, string> = { DB_PASSWORD: 'pw', API_KEY: 'k-123', 'team/api key': 'spaced' };
const withSecrets: RenderScope = {
  ...scope,
  secret: (name, raw) => {
    const v = secrets[name];
    if (v === undefined) throw new TemplateError(raw, `no secret ${name}`);
    return v;
  },
};

function failure(value: unknown, s: RenderScope = scope): string {
  try {
    render(value, s);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as TemplateError).message;
  }
  throw new Error(`rendered ${JSON.stringify(value)} without an error`);
}

function errorOf(template: string): string | undefined {
  const scan = scanTemplates(template);
  expect(scan.references).toStrictEqual([]);
  return scan.errors[0]?.message;
}

describe('template grammar', () => {
  it('roots that take no path refuse one', () => {
    expect(errorOf('${run.id.x}')).toBe('expected ${run.id} or ${run.workflow}');
    expect(errorOf('${run}')).toBe('expected ${run.id} or ${run.workflow}');
    expect(errorOf('${task.name.x}')).toBe('expected ${task.name} or ${task.attempt}');
    expect(errorOf('${task.nope}')).toBe('expected ${task.name} or ${task.attempt}');
    expect(errorOf('${task}')).toBe('expected ${task.name} or ${task.attempt}');
    expect(errorOf('${index.x}')).toBe('expected ${index}');
    expect(errorOf('${index[0]}')).toBe('expected ${index}');
    expect(errorOf('${params}')).toBe('expected ${params.NAME}');
    expect(errorOf('${params[0]}')).toBe('expected ${params.NAME}');
    expect(errorOf('${tasks.a}')).toBe('expected ${tasks.TASK.output...}');
    expect(errorOf('${tasks[0].output}')).toBe('expected ${tasks.TASK.output...}');
  });

  it('accepts each root with its own shape', () => {
    expect(findReferences(['${run.workflow}', '${task.name}', '${index}', '${item}', '${item.a[1]["b c"]}'])).toStrictEqual([
      { kind: 'run', name: 'workflow', path: [], raw: '${run.workflow}' },
      { kind: 'task', name: 'name', path: [], raw: '${task.name}' },
      { kind: 'index', path: [], raw: '${index}' },
      { kind: 'item', path: [], raw: '${item}' },
      { kind: 'item', path: ['a', 1, 'b c'], raw: '${item.a[1]["b c"]}' },
    ]);
  });

  it('reads quoted keys with escapes in either quote, and a } inside one', () => {
    expect(errorOf('${params.p[ 3 ]}')).toBe('malformed template');
    expect(findReferences(`\${params.p["a\\"}"]['it\\'s']['say "hi"'][3]}`)).toStrictEqual([
      { kind: 'params', name: 'p', path: ['a"}', "it's", 'say "hi"', 3], raw: `\${params.p["a\\"}"]['it\\'s']['say "hi"'][3]}` },
    ]);
    expect(findReferences('${params.p[ "x" ]}')[0]?.path).toStrictEqual(['x']);
  });

  it('a path that is not keys, indexes and quoted keys is malformed', () => {
    expect(errorOf('${params.a.}')).toBe('malformed template');
    expect(errorOf('${9params.a}')).toBe('malformed template');
    expect(errorOf('${params.a[x]}')).toBe('malformed template');
    expect(errorOf('${params.a["\\q"]}')).toBe('malformed template');
    expect(errorOf("${params.a['\\q']}")).toBe('malformed template');
    expect(errorOf('${params.a b}')).toBe('malformed template');
  });

  it('reports the unclosed template from its start to the end of the string, after the text before it', () => {
    expect(scanTemplates({ a: 'x $${y} ${params.b ${params.c}' })).toStrictEqual({
      references: [],
      errors: [{ at: ['a'], raw: '${params.b ${params.c}', message: 'malformed template' }],
    });
    expect(scanTemplates(['ok ${params.q', '${params["}']).errors).toStrictEqual([
      { at: [0], raw: '${params.q', message: 'unclosed template (missing "}")' },
      { at: [1], raw: '${params["}', message: 'unclosed template (missing "}")' },
    ]);
  });

  it('secret names: the characters Secrets Manager and SSM share, at most 256, others quoted', () => {
    expect(findReferences(['${secrets.DB_1}', '${secrets["a_b+c=d.e@f/g-h"]}'])).toStrictEqual([
      { kind: 'secrets', name: 'DB_1', path: [], raw: '${secrets.DB_1}' },
      { kind: 'secrets', name: 'a_b+c=d.e@f/g-h', path: [], raw: '${secrets["a_b+c=d.e@f/g-h"]}' },
    ]);
    expect(findReferences(`\${secrets["${'s'.repeat(256)}"]}`)[0]?.name).toBe('s'.repeat(256));
    const refused = 'expected ${secrets.NAME} (letters, digits and _+=.@/- ; quote other names: ${secrets["a/b"]})';
    expect(errorOf(`\${secrets["${'s'.repeat(257)}"]}`)).toBe(refused);
    expect(errorOf('${secrets.A.B}')).toBe(refused);
    expect(errorOf('${secrets}')).toBe(refused);
    expect(errorOf('${secrets[0]}')).toBe(refused);
    expect(errorOf('${secrets["a b"]}')).toBe(refused);
    expect(errorOf('${secrets[""]}')).toBe(refused);
  });
});

describe('render: secrets and the params that carry them', () => {
  it('resolves a secret only where a task runs, asking by name with the template as written', () => {
    const asked: [string, string][] = [];
    const s: RenderScope = {
      ...scope,
      secret: (n, raw) => {
        asked.push([n, raw]);
        return `<${n}>`;
      },
    };
    expect(render({ h: 'Bearer ${secrets.API_KEY}', k: '${ secrets.API_KEY }' }, s)).toStrictEqual({
      h: 'Bearer <API_KEY>',
      k: '<API_KEY>',
    });
    expect(asked).toStrictEqual([
      ['API_KEY', '${secrets.API_KEY}'],
      ['API_KEY', '${ secrets.API_KEY }'],
    ]);
    expect(failure('${secrets.API_KEY}')).toBe('template ${secrets.API_KEY}: secrets resolve only when a task runs');
  });

  it("a param's ${secrets...} resolves where the param is used; its other templates stay literal", () => {
    expect(render('${params.conn}', withSecrets)).toBe('postgres://app:pw@db');
    expect(render('${params.key}', withSecrets)).toBe('k-123');
    expect(render('${params.nested}', withSecrets)).toStrictEqual({ list: ['k-123', 7, null, true], plain: 'x' });
    expect(render('${params.other}', withSecrets)).toBe('${params.conn} and k-123 and ${oops');
    expect(render('${params.escaped}', withSecrets)).toBe('$${secrets.API_KEY}');
    expect(render('${params.noSecret}', withSecrets)).toBe('see ${params.key}');
    expect(render('[${params.key}]', withSecrets)).toBe('[k-123]');
    expect(failure('${params.key}')).toBe('template ${secrets.API_KEY}: secrets resolve only when a task runs');
  });

  it('a param without a secret is passed on exactly as written, escapes included', () => {
    const s: RenderScope = { ...withSecrets, params: { p: 'cost $${x} for ${params.key}' } };
    expect(render('${params.p}', s)).toBe('cost $${x} for ${params.key}');
  });

  it("an upstream task's output never resolves a secret", () => {
    expect(render('${tasks.up.output.text}', withSecrets)).toBe('${secrets.API_KEY}');
  });
});

describe('render: values and what is missing', () => {
  it('stringifies each kind of value inside a longer string', () => {
    expect(render('${params.nothing}|${params.flags}|${params.list}|${task.attempt}|${run.id}', scope)).toBe('null|{"a":true}|[1,2]|2|r-1');
    expect(render('${run.workflow}', scope)).toBe('wf');
    expect(render('${task.name}', scope)).toBe('load');
  });

  it('a TemplateError names itself and keeps the template as written', () => {
    let error: unknown;
    try {
      render('x ${params.missing}', scope);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).name).toBe('TemplateError');
    expect((error as TemplateError).template).toBe('${params.missing}');
  });

  it('scans past values that hold no strings', () => {
    expect(scanTemplates({ a: null, n: 1, b: false, l: [null, '${run.id}'] })).toStrictEqual({
      references: [{ at: ['l', 1], ref: { kind: 'run', name: 'id', path: [], raw: '${run.id}' } }],
      errors: [],
    });
  });

  it('names the deepest value that exists and the key or index it lacks', () => {
    expect(failure('${params.conn[0]}')).toBe('template ${params.conn[0]}: params.conn has no [0]');
    expect(failure('${params.flags[0]}')).toBe('template ${params.flags[0]}: params.flags has no [0]');
    expect(failure('${params.list.length}')).toBe('template ${params.list.length}: params.list has no "length"');
    expect(failure('${params.list[2]}')).toBe('template ${params.list[2]}: params.list has no [2]');
    expect(failure('${params.nothing.x}')).toBe('template ${params.nothing.x}: params.nothing has no "x"');
    expect(failure('${tasks.up.output.list[1]}')).toBe('template ${tasks.up.output.list[1]}: tasks.up.output.list has no [1]');
    expect(failure('${tasks.up.output["a b"]}')).toBe('template ${tasks.up.output["a b"]}: tasks.up.output has no "a b"');
    expect(render('${tasks.up.output.list[2]}', scope)).toBe(30);
  });

  it('a param or task that is not there, even an inherited name, has no value', () => {
    expect(failure('${params.toString}')).toBe('template ${params.toString}: param "toString" has no value');
    expect(failure('${tasks.constructor.output}')).toBe('template ${tasks.constructor.output}: task "constructor" has no output');
    expect(failure({ a: [{ b: 'x ${params.undefinedValue}' }] }, { ...scope, params: { undefinedValue: undefined } })).toBe(
      'template ${params.undefinedValue}: param "undefinedValue" has no value',
    );
  });

  it('a malformed template fails the render wherever it is, even after a good one', () => {
    expect(failure('${run.id} ${nope}')).toBe(
      'template ${nope}: unknown root "nope" (expected params, tasks, run, task, secrets, item or index)',
    );
    expect(failure(['${run.id}', { k: '${}' }])).toBe('template ${}: empty template');
  });
});
