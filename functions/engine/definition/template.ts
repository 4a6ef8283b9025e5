/**
 * Templates in task fields: `${params.NAME...}`, `${tasks.TASK.output...}`, `${run.id}`, `${run.workflow}`,
 * `${task.name}`, `${task.attempt}`, `${secrets.NAME}` (or `${secrets["a/b"]}`), and inside a map's `task`
 * `${item...}` (the item, with a path into it) and `${index}` (its 0-based position). Paths continue with
 * `.key`, `[0]` or `["any key"]` segments. `$${` is an escape for a literal `${`.
 *
 * A secret is resolved by the worker only, through the scope's `secret` lookup; the stored definition
 * keeps the reference. A param value holding `${secrets.NAME}` is a reference too: it resolves where
 * the param is used (and passes on as a reference through sub-workflow params).
 */
import { formatPath, type PathSegment } from './path.js';

/** One parsed `${...}` template. */
export interface Reference {
  readonly kind: 'params' | 'tasks' | 'run' | 'task' | 'secrets' | 'item' | 'index';
  /** Param name, task name, secret name, or the field of `run` / `task` (`id`, `workflow`, `name`, `attempt`). */
  readonly name?: string;
  /** Segments after the param name, after `output` for tasks, or after `item`; empty for `run`, `task` and `index`. */
  readonly path: PathSegment[];
  /** The template as written, `${...}` included. */
  readonly raw: string;
}

/** A reference together with where it was found in the scanned value. */
export interface LocatedReference {
  readonly at: PathSegment[];
  readonly ref: Reference;
}

/** A malformed template (unclosed, empty, unknown root, bad path) and where it was found. */
export interface TemplateIssue {
  readonly at: PathSegment[];
  readonly raw: string;
  readonly message: string;
}

/** What `scanTemplates` finds in a value. */
export interface TemplateScan {
  readonly references: LocatedReference[];
  readonly errors: TemplateIssue[];
}

/** The values templates render from. */
export interface RenderScope {
  readonly params: Record<string, unknown>;
  readonly tasks: Record<string, { output: unknown }>;
  readonly run: { id: string; workflow: string };
  readonly task: { name: string; attempt: number };
  /**
   * The value of `${secrets.NAME}` (`raw` is the template as written). Without it, a secret reference
   * is an error: only the worker resolves secrets.
   */
  readonly secret?: (name: string, raw: string) => string;
  /** The map item an item task runs for (`${item}`, `${index}`); absent outside a map's items. */
  readonly item?: { readonly value: unknown; readonly index: number };
}

/** What a secret's name may hold: the characters Secrets Manager and SSM parameter names share. */
export const SECRET_NAME = /^[A-Za-z0-9_+=.@/-]{1,256}$/;

/** Thrown by `render` for a template whose value is missing, or a malformed template. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  /** The offending template as written. */
  readonly template: string;
  constructor(template: string, message: string) {
    super(message);
    this.template = template;
  }
}

type Part = { text: string } | { ref: Reference } | { error: string; raw: string };

const ROOT = /^[A-Za-z_][A-Za-z0-9_-]*/;
const KEY = /^\.([A-Za-z0-9_$-]+)/;
const INDEX = /^\[(\d+)\]/;
const QUOTED = /^\[\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\]/;

function unquote(q: string): string {
  if (q.startsWith('"')) return JSON.parse(q) as string;
  // Single-quoted: swap the quoting, then reuse JSON's escapes.
  const inner = q.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"');
  return JSON.parse(`"${inner}"`) as string;
}

/** Splits `params.a.b[0]["c d"]` into segments, or returns an error message. */
function splitPath(expr: string): PathSegment[] | string {
  const root = ROOT.exec(expr);
  if (!root) return 'malformed template';
  const segments: PathSegment[] = [root[0]];
  let rest = expr.slice(root[0].length);
  while (rest !== '') {
    const key = KEY.exec(rest);
    const index = key ? null : INDEX.exec(rest);
    const quoted = key || index ? null : QUOTED.exec(rest);
    if (key) segments.push(key[1] as string);
    else if (index) segments.push(Number(index[1]));
    else if (quoted) {
      try {
        segments.push(unquote(quoted[1] as string));
      } catch {
        return 'malformed template';
      }
    } else return 'malformed template';
    rest = rest.slice(((key ?? index ?? quoted) as RegExpExecArray)[0].length);
  }
  return segments;
}

/** Parses the inside of one `${...}`. */
function parseExpression(inner: string, raw: string): Reference | string {
  const expr = inner.trim();
  if (expr === '') return 'empty template';
  const segs = splitPath(expr);
  if (typeof segs === 'string') return segs;
  const [root, name, ...rest] = segs;
  switch (root) {
    case 'params':
      if (typeof name !== 'string') return 'expected ${params.NAME}';
      return { kind: 'params', name, path: rest, raw };
    case 'tasks': {
      const [output, ...path] = rest;
      if (typeof name !== 'string' || output !== 'output') return 'expected ${tasks.TASK.output...}';
      return { kind: 'tasks', name, path, raw };
    }
    case 'run':
      if ((name !== 'id' && name !== 'workflow') || rest.length > 0) return 'expected ${run.id} or ${run.workflow}';
      return { kind: 'run', name, path: [], raw };
    case 'task':
      if ((name !== 'name' && name !== 'attempt') || rest.length > 0) return 'expected ${task.name} or ${task.attempt}';
      return { kind: 'task', name, path: [], raw };
    case 'secrets':
      if (typeof name !== 'string' || rest.length > 0 || !SECRET_NAME.test(name)) {
        return 'expected ${secrets.NAME} (letters, digits and _+=.@/- ; quote other names: ${secrets["a/b"]})';
      }
      return { kind: 'secrets', name, path: [], raw };
    case 'item':
      return { kind: 'item', path: segs.slice(1), raw };
    case 'index':
      if (segs.length > 1) return 'expected ${index}';
      return { kind: 'index', path: [], raw };
    default:
      return `unknown root "${String(root)}" (expected params, tasks, run, task, secrets, item or index)`;
  }
}

/** Index of the `}` closing a template that starts at `open` (the `$`), skipping quoted keys; -1 if unclosed. */
function closingBrace(s: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 2; j < s.length; j++) {
    const c = s[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return j;
  }
  return -1;
}

/** Splits a string into literal text (escapes applied), references and malformed templates. */
function parseString(s: string): Part[] {
  const parts: Part[] = [];
  let buf = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      buf += '${';
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = closingBrace(s, i);
      if (buf !== '') parts.push({ text: buf });
      buf = '';
      if (end < 0) {
        parts.push({ error: 'unclosed template (missing "}")', raw: s.slice(i) });
        break;
      }
      const raw = s.slice(i, end + 1);
      const parsed = parseExpression(s.slice(i + 2, end), raw);
      parts.push(typeof parsed === 'string' ? { error: parsed, raw } : { ref: parsed });
      i = end + 1;
    } else {
      buf += s[i];
      i++;
    }
  }
  if (buf !== '') parts.push({ text: buf });
  return parts;
}

function walkStrings(value: unknown, at: PathSegment[], visit: (s: string, at: PathSegment[]) => void): void {
  if (typeof value === 'string') visit(value, at);
  else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walkStrings(value[i], [...at, i], visit);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, [...at, k], visit);
  }
}

/**
 * Finds every template in the strings of a JSON value (object keys are not templated), with where each
 * was found, and every malformed template.
 */
export function scanTemplates(value: unknown): TemplateScan {
  const references: LocatedReference[] = [];
  const errors: TemplateIssue[] = [];
  walkStrings(value, [], (s, at) => {
    if (!s.includes('${')) return;
    for (const part of parseString(s)) {
      if ('ref' in part) references.push({ at, ref: part.ref });
      else if ('error' in part) errors.push({ at, raw: part.raw, message: part.error });
    }
  });
  return { references, errors };
}

/** The references in a JSON value (malformed templates are skipped; see `scanTemplates`). */
export function findReferences(value: unknown): Reference[] {
  return scanTemplates(value).references.map((r) => r.ref);
}

/** True if the string holds at least one `${` that is not escaped. */
export function hasTemplate(s: string): boolean {
  return parseString(s).some((p) => !('text' in p));
}

function has(obj: unknown, key: PathSegment): boolean {
  // An index past the end reads `undefined` (JSON arrays have no holes), so no length check is needed.
  if (typeof key === 'number') return Array.isArray(obj) && obj[key] !== undefined;
  return (
    obj !== null &&
    typeof obj === 'object' &&
    !Array.isArray(obj) &&
    Object.hasOwn(obj, key) &&
    (obj as Record<string, unknown>)[key] !== undefined
  );
}

function describeKey(key: PathSegment): string {
  return typeof key === 'number' ? `[${key}]` : JSON.stringify(key);
}

/** Follows `path` from `start`; throws a TemplateError naming the deepest value that exists and what it lacks. */
function follow(start: unknown, base: PathSegment[], path: PathSegment[], raw: string): unknown {
  let value = start;
  const walked = [...base];
  for (const key of path) {
    if (!has(value, key)) {
      throw new TemplateError(raw, `template ${raw}: ${formatPath(walked)} has no ${describeKey(key)}`);
    }
    value = (value as Record<string | number, unknown>)[key];
    walked.push(key);
  }
  return value;
}

function resolve(ref: Reference, scope: RenderScope): unknown {
  const name = ref.name as string;
  switch (ref.kind) {
    case 'params':
      if (!has(scope.params, name)) {
        throw new TemplateError(ref.raw, `template ${ref.raw}: param "${name}" has no value`);
      }
      return withSecrets(follow(scope.params[name], ['params', name], ref.path, ref.raw), scope);
    case 'tasks': {
      const task = Object.hasOwn(scope.tasks, name) ? scope.tasks[name] : undefined;
      if (task === undefined || task.output === undefined) {
        throw new TemplateError(ref.raw, `template ${ref.raw}: task "${name}" has no output`);
      }
      return follow(task.output, ['tasks', name, 'output'], ref.path, ref.raw);
    }
    case 'run':
      return name === 'id' ? scope.run.id : scope.run.workflow;
    case 'task':
      return name === 'name' ? scope.task.name : scope.task.attempt;
    case 'secrets':
      if (!scope.secret) throw new TemplateError(ref.raw, `template ${ref.raw}: secrets resolve only when a task runs`);
      return scope.secret(name, ref.raw);
    case 'item':
    case 'index':
      if (!scope.item) throw new TemplateError(ref.raw, `template ${ref.raw}: only a map's task has an item`);
      // Like a task output, an item is data from outside: its `${secrets...}` text stays literal.
      return ref.kind === 'index' ? scope.item.index : follow(scope.item.value, ['item'], ref.path, ref.raw);
  }
}

/**
 * Resolves the `${secrets.NAME}` references inside a param's value (and nothing else: a param's other
 * `${...}` text stays literal, as it always has). Upstream task outputs never get this treatment, so a
 * remote answer cannot name a secret and have it sent somewhere.
 */
function withSecrets(value: unknown, scope: RenderScope): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const parts = parseString(value);
    if (!parts.some((p) => 'ref' in p && p.ref.kind === 'secrets')) return value;
    const out = parts.map((p) =>
      'ref' in p ? (p.ref.kind === 'secrets' ? resolve(p.ref, scope) : p.ref.raw) : 'text' in p ? p.text : p.raw,
    );
    return out.map(stringify).join('');
  }
  if (Array.isArray(value)) return value.map((v) => withSecrets(v, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecrets(v, scope)]));
  }
  return value;
}

/** A rendered value inside a longer string: strings as they are, everything else (JSON data) as JSON. */
function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function renderString(s: string, scope: RenderScope): unknown {
  if (!s.includes('${')) return s;
  const parts = parseString(s);
  const values = parts.map((p) => {
    if ('error' in p) throw new TemplateError(p.raw, `template ${p.raw}: ${p.error}`);
    return 'ref' in p ? resolve(p.ref, scope) : p.text;
  });
  // A string that is exactly one template keeps the value's type.
  if (parts.length === 1 && 'ref' in (parts[0] as Part)) return values[0];
  return values.map(stringify).join('');
}

/**
 * Deep-renders the templates in a JSON value. A string that is exactly one template becomes the
 * referenced value itself (number, object, ...); templates inside a longer string are stringified
 * (objects and arrays as JSON). `$${` renders as a literal `${`. Object keys are left alone, and the input
 * is not modified.
 *
 * @throws TemplateError when a referenced value is missing or a template is malformed.
 */
export function render(value: unknown, scope: RenderScope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, scope)]));
  }
  return value;
}
