/**
 * Validates a workflow definition as written and normalises it to `WorkflowDefinition`, reporting every
 * problem at once with the path of the offending field.
 */
import type { z } from 'zod';
import { checkExpression } from '../flow/condition.js';
import { TRIGGER_RULES, type TriggerRule } from '../flow/join-rule.js';
import { checkValue, MAX_DEFINITION_DEPTH } from '../limits.js';
import { decodeDefinition } from './decode.js';
import { findCycles, upstreamOf } from './graph.js';
import { checkMapConfig, MAP_TYPE } from './map.js';
import { notifySchema } from './notify.js';
import { isPlainObject, matchesType, typeName } from './params.js';
import { formatPath, joinPath } from './path.js';
import { checkPoolFields } from './pool-fields.js';
import {
  concurrencySchema,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_RETRY_DELAY_MS,
  durationSchema,
  ENGINE_TASK_KEYS,
  failureStrategySchema,
  MAX_TASKS,
  NAME_PATTERN,
  PARAM_NAME_PATTERN,
  paramSpecSchema,
  retrySchema,
  TOP_LEVEL_KEYS,
} from './schema.js';
import { type LocatedReference, scanTemplates } from './template.js';
import type {
  ConcurrencyPolicy,
  FailureStrategy,
  ParamSpec,
  Result,
  RetryPolicy,
  TaskSpec,
  ValidationIssue,
  WorkflowDefinition,
} from './types.js';
import { fromZodIssues } from './zod-issues.js';

/** Options for `parseDefinition`. */
export interface ParseOptions {
  /** Content type of a text body; YAML when it contains `yaml`. */
  readonly contentType?: string;
  /** The name the definition is stored under (the URL's): a `name` in the document must equal it, and a missing one means it. Never derived from a file's base name. */
  readonly name?: string;
  /** The registered task types; each task's config is checked with its type's schema. */
  readonly executors: Readonly<Record<string, { readonly schema: z.ZodType }>>;
  /** Largest serialized normalised definition accepted, in bytes. Default 350 000. */
  readonly maxBytes?: number;
}

/** The retry policy of a task without `retry`. */
export const NO_RETRY: RetryPolicy = { attempts: 1, delayMs: 0, backoff: 'fixed', maxDelayMs: 0 };

const NAME_RULE = 'must start with a letter and contain only letters, digits, _ and - (at most 64 characters)';
const PARAM_NAME_RULE = 'must start with a letter or _ and contain only letters, digits and _ (at most 64 characters)';
const ENGINE_KEYS: ReadonlySet<string> = new Set(ENGINE_TASK_KEYS);

class Checker {
  readonly errors: ValidationIssue[] = [];
  add(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  zod<T>(path: string, schema: z.ZodType<T>, value: unknown): T | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    this.errors.push(...fromZodIssues(path, r.error.issues));
    return undefined;
  }
}

function checkName(c: Checker, doc: Record<string, unknown>, fromPath: string | undefined): string {
  let name = fromPath;
  if (doc.name === undefined) {
    if (fromPath === undefined) c.add('name', 'required');
  } else if (typeof doc.name !== 'string') {
    c.add('name', `expected a string, got ${typeName(doc.name)}`);
  } else {
    name = doc.name;
    if (fromPath !== undefined && name !== fromPath) c.add('name', `name "${name}" does not match "${fromPath}" from the URL`);
  }
  // A name given as "" is invalid like any other; only a missing one is reported as required instead.
  if (name !== undefined && !NAME_PATTERN.test(name)) c.add('name', `invalid name "${name}": ${NAME_RULE}`);
  return name ?? '';
}

function checkParams(c: Checker, raw: unknown): Record<string, ParamSpec> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    c.add('params', `expected an object mapping param names to specs, got ${typeName(raw)}`);
    return {};
  }
  const out: [string, ParamSpec][] = [];
  for (const [name, value] of Object.entries(raw)) {
    const path = joinPath('params', [name]);
    if (!PARAM_NAME_PATTERN.test(name)) c.add(path, `invalid param name "${name}": ${PARAM_NAME_RULE}`);
    const p = c.zod(path, paramSpecSchema, value);
    if (!p) continue;
    if (p.default !== undefined) {
      if (!matchesType(p.type, p.default)) c.add(`${path}.default`, `expected ${p.type}, got ${typeName(p.default)}`);
      if (p.required) c.add(`${path}.default`, 'a required param cannot have a default');
    }
    out.push([
      name,
      {
        type: p.type,
        required: p.required ?? false,
        ...(p.default !== undefined && { default: p.default }),
        ...(p.description !== undefined && { description: p.description }),
      },
    ]);
  }
  return Object.fromEntries(out);
}

function checkRetry(c: Checker, path: string, raw: unknown): RetryPolicy {
  if (raw === undefined || raw === null) return NO_RETRY;
  const r = c.zod(path, retrySchema, raw);
  if (!r) return NO_RETRY;
  const attempts = r.attempts ?? 1;
  const delayMs = r.delay ?? (attempts > 1 ? DEFAULT_RETRY_DELAY_MS : 0);
  if (r.maxDelay !== undefined && r.maxDelay < delayMs) c.add(`${path}.maxDelay`, 'must be at least the delay');
  return { attempts, delayMs, backoff: r.backoff ?? 'fixed', maxDelayMs: r.maxDelay ?? Math.max(DEFAULT_MAX_DELAY_MS, delayMs) };
}

function checkTimeout(c: Checker, path: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const ms = c.zod(path, durationSchema, raw);
  if (ms === 0) c.add(path, 'must be more than 0');
  return ms;
}

/** Normalises `after` and records the path of each kept dependency (for cycle messages). */
function checkAfter(
  c: Checker,
  path: string,
  task: string,
  raw: unknown,
  names: ReadonlySet<string>,
  where: Map<string, string>,
): string[] {
  if (raw === undefined || raw === null) return [];
  let entries: [unknown, string][];
  if (typeof raw === 'string') entries = [[raw, path]];
  else if (Array.isArray(raw)) entries = raw.map((v, i) => [v, `${path}[${i}]`]);
  else {
    c.add(path, `expected a task name or a list of task names, got ${typeName(raw)}`);
    return [];
  }
  const after: string[] = [];
  for (const [dep, at] of entries) {
    if (typeof dep !== 'string') c.add(at, `expected a task name, got ${typeName(dep)}`);
    else if (dep === task) c.add(at, `self dependency: "${task}" cannot run after itself`);
    else if (!names.has(dep)) c.add(at, `unknown dependency "${dep}"`);
    else if (where.has(dep)) c.add(at, `duplicate dependency "${dep}"`);
    else {
      where.set(dep, at);
      after.push(dep);
    }
  }
  return after;
}

/** `when`: a JSONata expression, parsed here so that a syntax error is reported at `PUT`. */
function checkWhen(c: Checker, path: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    c.add(path, `expected a JSONata expression (a string), got ${typeName(raw)}`);
    return undefined;
  }
  const problem = raw.trim() === '' ? 'empty expression' : checkExpression(raw);
  if (problem) c.add(path, `invalid expression: ${problem}`);
  return raw;
}

const TRIGGERS: ReadonlySet<string> = new Set(TRIGGER_RULES);

/** `trigger`: a join rule; the default is stored as absent so that existing definitions are unchanged. */
function checkTrigger(c: Checker, path: string, raw: unknown): TriggerRule | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !TRIGGERS.has(raw)) {
    c.add(path, `expected one of ${TRIGGER_RULES.join(', ')}`);
    return undefined;
  }
  return raw === 'all_succeeded' ? undefined : (raw as TriggerRule);
}

interface TaskDraft {
  readonly spec: TaskSpec;
  /** Path of each `after` entry kept, by dependency. */
  readonly afterPaths: Map<string, string>;
  readonly references: LocatedReference[];
}

function checkTask(c: Checker, name: string, raw: unknown, names: ReadonlySet<string>, opts: ParseOptions): TaskDraft | undefined {
  const path = joinPath('tasks', [name]);
  if (!NAME_PATTERN.test(name)) c.add(path, `invalid task name "${name}": ${NAME_RULE}`);
  if (!isPlainObject(raw)) {
    c.add(path, `expected a task object, got ${typeName(raw)}`);
    return undefined;
  }
  let type = '';
  let executor: { readonly schema: z.ZodType } | undefined;
  if (raw.type === undefined) c.add(`${path}.type`, 'required');
  else if (typeof raw.type !== 'string') c.add(`${path}.type`, `expected a string, got ${typeName(raw.type)}`);
  else {
    type = raw.type;
    executor = Object.hasOwn(opts.executors, type) ? opts.executors[type] : undefined;
    if (!executor && type !== MAP_TYPE)
      c.add(`${path}.type`, `unknown task type "${type}" (known types: ${Object.keys(opts.executors).sort().join(', ')})`);
  }

  const afterPaths = new Map<string, string>();
  const after = checkAfter(c, `${path}.after`, name, raw.after, names, afterPaths);
  const retry = checkRetry(c, `${path}.retry`, raw.retry);
  const timeoutMs = checkTimeout(c, `${path}.timeout`, raw.timeout);

  const when = checkWhen(c, `${path}.when`, raw.when);
  const trigger = checkTrigger(c, `${path}.trigger`, raw.trigger);
  const pool = checkPoolFields(
    raw,
    path,
    (p, s, v) => c.zod(p, s, v),
    (p, m) => c.add(p, m),
  );

  let config: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([k]) => !ENGINE_KEYS.has(k)));
  const scan = scanTemplates(config);
  if (type === MAP_TYPE) {
    const checks = { add: c.add.bind(c), zod: c.zod.bind(c), executors: opts.executors };
    const retry = (p: string, r: unknown) => checkRetry(c, p, r);
    const timeout = (p: string, r: unknown) => checkTimeout(c, p, r);
    config = { ...checkMapConfig({ ...checks, retry, timeout }, path, config) };
  } else if (executor) {
    try {
      c.zod(path, executor.schema, config);
    } catch (e) {
      c.add(path, `could not check the ${type} fields: ${(e as Error).message}`);
    }
  }
  for (const e of scan.errors) c.add(joinPath(path, e.at), `${e.raw}: ${e.message}`);
  for (const { at, ref } of scan.references) {
    // `${item}` and `${index}` exist only where an item runs: inside a map's task.
    if ((ref.kind === 'item' || ref.kind === 'index') && !(type === MAP_TYPE && at[0] === 'task'))
      c.add(joinPath(path, at), `${ref.raw}: only a map's task has an item`);
  }

  const spec: TaskSpec = {
    type,
    after,
    retry,
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(when !== undefined && { when }),
    ...(trigger !== undefined && { trigger }),
    ...pool,
    config,
  };
  return { spec, afterPaths, references: scan.references };
}

function checkReferences(
  c: Checker,
  drafts: ReadonlyMap<string, TaskDraft>,
  params: ReadonlySet<string>,
  names: ReadonlySet<string>,
): void {
  for (const [task, draft] of drafts) {
    let ancestors: Set<string> | undefined;
    for (const { at, ref } of draft.references) {
      const path = joinPath(joinPath('tasks', [task]), at);
      const name = ref.name as string;
      if (ref.kind === 'params' && !params.has(name)) c.add(path, `${ref.raw}: undeclared param "${name}"`);
      if (ref.kind !== 'tasks') continue;
      if (name === task) c.add(path, `${ref.raw}: a task cannot use its own output`);
      else if (!names.has(name)) c.add(path, `${ref.raw}: unknown task "${name}"`);
      else {
        ancestors ??= upstreamOf(task, (t) => drafts.get(t)?.spec.after);
        if (!ancestors.has(name)) {
          c.add(path, `${ref.raw}: task "${name}" is not upstream of "${task}" (add it to after, directly or through another task)`);
        }
      }
    }
  }
}

/** Most cycles reported for one definition. */
const MAX_CYCLES_REPORTED = 20;

function checkCycles(c: Checker, drafts: ReadonlyMap<string, TaskDraft>): void {
  const cycles = findCycles(Object.fromEntries([...drafts].map(([n, d]) => [n, d.spec])), MAX_CYCLES_REPORTED + 1);
  for (const cycle of cycles.slice(0, MAX_CYCLES_REPORTED)) {
    const first = cycle[0] as string;
    const last = cycle[cycle.length - 1] as string;
    const path = drafts.get(first)?.afterPaths.get(last) ?? joinPath('tasks', [first]);
    c.add(path, `cycle: ${[...cycle, first].join(' -> ')}`);
  }
  if (cycles.length > MAX_CYCLES_REPORTED) c.add('tasks', `more cycles not listed (showing the first ${MAX_CYCLES_REPORTED})`);
}

function checkTasks(c: Checker, raw: unknown, opts: ParseOptions): Map<string, TaskDraft> {
  const drafts = new Map<string, TaskDraft>();
  if (raw === undefined || raw === null) {
    c.add('tasks', 'required: at least one task');
    return drafts;
  }
  if (!isPlainObject(raw)) {
    c.add('tasks', `expected an object mapping task names to tasks, got ${typeName(raw)}`);
    return drafts;
  }
  const names = new Set(Object.keys(raw));
  if (names.size === 0) c.add('tasks', 'at least one task is required');
  if (names.size > MAX_TASKS) c.add('tasks', `too many tasks: ${names.size} (at most ${MAX_TASKS})`);
  for (const [name, value] of Object.entries(raw)) {
    const draft = checkTask(c, name, value, names, opts);
    if (draft) drafts.set(name, draft);
  }
  return drafts;
}

function validateDocument(doc: unknown, opts: ParseOptions): Result<WorkflowDefinition> {
  if (!isPlainObject(doc)) {
    return { ok: false, errors: [{ path: '', message: `expected a workflow definition object, got ${typeName(doc)}` }] };
  }
  const c = new Checker();
  const known: ReadonlySet<string> = new Set(TOP_LEVEL_KEYS);
  for (const key of Object.keys(doc)) if (!known.has(key)) c.add(formatPath([key]), 'unknown field');

  const name = checkName(c, doc, opts.name);
  let description: string | undefined;
  if (doc.description !== undefined && doc.description !== null) {
    if (typeof doc.description === 'string') description = doc.description;
    else c.add('description', `expected a string, got ${typeName(doc.description)}`);
  }
  const failureStrategy: FailureStrategy =
    doc.failureStrategy === undefined ? 'end' : (c.zod('failureStrategy', failureStrategySchema, doc.failureStrategy) ?? 'end');
  let concurrency: ConcurrencyPolicy | undefined;
  if (doc.concurrency !== undefined && doc.concurrency !== null) {
    const cc = c.zod('concurrency', concurrencySchema, doc.concurrency);
    if (cc?.policy === 'allow' && cc.limit !== undefined) c.add('concurrency.limit', 'allow has no limit (use skip or queue)');
    else if (cc && cc.policy !== 'allow') concurrency = { policy: cc.policy, limit: cc.limit ?? 1 };
  }
  const timeoutMs = doc.timeout == null ? undefined : c.zod('timeout', durationSchema, doc.timeout);
  const slaMs = doc.sla == null ? undefined : c.zod('sla', durationSchema, doc.sla);
  const notify = doc.notify == null ? undefined : c.zod('notify', notifySchema, doc.notify);
  const params = checkParams(c, doc.params);
  const drafts = checkTasks(c, doc.tasks, opts);
  checkCycles(c, drafts);
  const paramNames = new Set(isPlainObject(doc.params) ? Object.keys(doc.params) : []);
  const taskNames = new Set(isPlainObject(doc.tasks) ? Object.keys(doc.tasks) : []);
  checkReferences(c, drafts, paramNames, taskNames);

  const def: WorkflowDefinition = {
    name,
    ...(description !== undefined && { description }),
    params,
    failureStrategy,
    ...(concurrency !== undefined && { concurrency }),
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(slaMs !== undefined && { slaMs }),
    ...(notify !== undefined && { notify }),
    tasks: Object.fromEntries([...drafts].map(([n, d]) => [n, d.spec])),
  };
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const bytes = Buffer.byteLength(JSON.stringify(def));
  if (bytes > maxBytes) c.add('', `definition is too large for one item: ${bytes} bytes serialized, at most ${maxBytes}`);

  return c.errors.length > 0 ? { ok: false, errors: c.errors } : { ok: true, value: def };
}

/**
 * Parses and validates a workflow definition: JSON or YAML text (YAML when `contentType` contains `yaml`
 * or the text is not JSON), or an already-parsed object. Returns the normalised definition, or every
 * problem found, each with its path (`tasks.summarize.after[0]`, `params.day.type`, `name`; `` for the
 * whole definition).
 */
export function parseDefinition(body: string | unknown, opts: ParseOptions): Result<WorkflowDefinition> {
  if (typeof body === 'string') {
    const limit = (opts.maxBytes ?? DEFAULT_MAX_BYTES) * 4;
    const bytes = Buffer.byteLength(body);
    if (bytes > limit)
      return { ok: false, errors: [{ path: '', message: `definition text is too large: ${bytes} bytes, at most ${limit}` }] };
  }
  const decoded = decodeDefinition(body, opts.contentType);
  if (!decoded.ok) return decoded;
  // Shape limits first, without recursion: everything after this walks the document recursively.
  const shape = checkValue(decoded.value, '', { maxDepth: MAX_DEFINITION_DEPTH });
  return shape.length > 0 ? { ok: false, errors: shape } : validateDocument(decoded.value, opts);
}
