import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Finds every guard in `functions/store/` and the mutants that remove or weaken it:
 * - each put-if-absent (`db.create(...)`): the put made unconditional (for runs, per trigger type);
 * - each call of a `Db` method that takes a condition (`db.update(key, spec, condition)`,
 *   `db.remove(key, condition)`, and any such method added later: found from the parameter types in
 *   `db.ts`): condition removed; and weakened: one field of a `whereEquals`, one operand of an `and`,
 *   one conjunct of an expression left out;
 * - each raw condition (`db.updateRaw(key, update, condition, ...)`, `ConditionExpression: '...'`):
 *   replaced by an always-true condition, or one conjunct left out;
 * - each condition builder (a constant holding a condition, a function returning one): weakened the
 *   same way, which weakens every write that uses it.
 */

export interface Mutant {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface Guard {
  /** `file:function` (and `#n` when a function has several). */
  readonly id: string;
  readonly file: string;
  readonly mutants: Mutant[];
}

/** A condition that always holds, valid wherever a condition is. */
export const TRUE = '(attribute_exists(pk) OR attribute_not_exists(pk))';
const RUN_TRIGGERS = ['api', 'schedule', 'parent', 'backfill'];

/**
 * The `Db` methods that take a condition, and where: read from the class in `db.ts`, so that a method
 * added later (a transaction, a conditional delete) is mutated at every call without a change here.
 */
export function conditionParams(root: string): Map<string, { index: number; optional: boolean }> {
  const file = join(root, 'functions/store/db.ts');
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out = new Map<string, { index: number; optional: boolean }>();
  const visit = (node: ts.Node) => {
    if (ts.isClassDeclaration(node) && node.name?.text === 'Db') {
      for (const m of node.members) {
        if (!ts.isMethodDeclaration(m) || !m.name || !ts.isIdentifier(m.name)) continue;
        const index = m.parameters.findIndex((p) => p.type && /\bCondition\b/.test(p.type.getText(sf)));
        const param = m.parameters[index];
        if (param) out.set(m.name.text, { index, optional: param.questionToken !== undefined || param.initializer !== undefined });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** A write in the store that the finder cannot mutate (a command built outside `Db`, a computed `ConditionExpression`). */
export interface Unmutated {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

const COMMANDS = /^(Put|Update|Delete|TransactWrite|BatchWrite)(Item)?Command$/;

/** Writes outside `Db`'s own plumbing that carry (or may carry) a condition the finder does not see: listed, so none is silently skipped. */
export function findUnmutated(root: string): Unmutated[] {
  const dir = join(root, 'functions/store');
  const out: Unmutated[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'db.ts' && f !== 'client.ts')) {
    const file = `functions/store/${name}`;
    const sf = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      const hit =
        (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && COMMANDS.test(node.expression.text)) ||
        (ts.isPropertyAssignment(node) && node.name.getText(sf) === 'ConditionExpression' && !ts.isStringLiteralLike(node.initializer));
      if (hit) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        out.push({ file, line, text: node.getText(sf).split('\n')[0]?.slice(0, 80) ?? '' });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

export function findGuards(root: string): Guard[] {
  const dir = join(root, 'functions/store');
  const guards: Guard[] = [];
  const params = conditionParams(root);
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    const file = `functions/store/${name}`;
    const text = readFileSync(join(root, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const seen = new Map<string, number>();
    const add = (node: ts.Node, kind: string, mutants: Mutant[]) => {
      mutants = mutants.filter((m, i) => mutants.findIndex((o) => o.start === m.start && o.end === m.end && o.text === m.text) === i);
      if (mutants.length === 0) return;
      const base = `${name}:${enclosingName(node)} (${kind})`;
      const k = (seen.get(base) ?? 0) + 1;
      seen.set(base, k);
      guards.push({ id: k > 1 ? `${base} #${k}` : base, file, mutants });
    };
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const method = node.expression.name.text;
        const target = node.expression.expression.getText(sf);
        const param = params.get(method);
        const cond = param && node.arguments[param.index];
        const isDb = target === 'db' || target.endsWith('.db');
        if (method === 'create' && isDb) {
          const callee = { start: node.expression.getStart(sf), end: node.arguments[0]?.getStart(sf) ?? node.getEnd() };
          const runs = enclosingName(node) === 'createRun';
          add(
            node,
            'put',
            runs
              ? RUN_TRIGGERS.map((t) => ({
                  label: `unconditional put for ${t} runs`,
                  ...callee,
                  text: `db.createIf(run.trigger.type !== '${t}', `,
                }))
              : [{ label: 'unconditional put', ...callee, text: 'db.createIf(false, ' }],
          );
        } else if (isDb && param && cond && !ts.isSpreadElement(cond)) {
          const removed = param.optional ? 'undefined' : `{ expr: '${TRUE}' }`;
          add(node, method, [
            { label: 'condition removed', start: cond.getStart(sf), end: cond.getEnd(), text: removed },
            ...weaken(cond, sf),
          ]);
        }
      }
      if (ts.isPropertyAssignment(node) && node.name.getText(sf) === 'ConditionExpression' && ts.isStringLiteralLike(node.initializer)) {
        const v = node.initializer;
        add(node, 'condition', [
          { label: 'condition removed', start: v.getStart(sf), end: v.getEnd(), text: 'undefined' },
          ...weaken(v, sf),
        ]);
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isConditionConst(node, sf)) {
        const init = node.initializer;
        const removed = ts.isStringLiteralLike(init) ? rawRemoved(init, sf) : isCondLiteral(init, sf) ? literalRemoved(init, sf) : [];
        add(node, 'builder', [...removed, ...weaken(init, sf)]);
      }
      if (ts.isFunctionDeclaration(node) && node.type?.getText(sf) === 'Condition' && node.body) {
        const ret = node.body.statements.find(ts.isReturnStatement)?.expression;
        if (name === 'expr.ts') add(node, 'builder', builderMutants(node, sf));
        else if (ret) add(node, 'builder', weaken(ret, sf));
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return guards;
}

function enclosingName(node: ts.Node): string {
  for (let n: ts.Node | undefined = node; n; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText();
  }
  for (let n: ts.Node | undefined = node; n; n = n.parent) {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) return n.name.text;
  }
  return '(module)';
}

const isCondLiteral = (n: ts.Node, sf: ts.SourceFile): n is ts.ObjectLiteralExpression =>
  ts.isObjectLiteralExpression(n) && n.properties.some((p) => p.name?.getText(sf) === 'expr');

/** A module-level constant that is a condition: `{ expr, ... }`, or an expression string with placeholders. */
function isConditionConst(d: ts.VariableDeclaration, sf: ts.SourceFile): boolean {
  const init = d.initializer as ts.Expression;
  // A local condition built by a builder (the claim's `queued`, the reclaim's `guard`).
  if (ts.isCallExpression(init) && ts.isIdentifier(init.expression) && ['and', 'whereEquals'].includes(init.expression.text)) return true;
  if (!ts.isSourceFile(d.parent.parent.parent)) return false;
  if (isCondLiteral(init, sf)) return true;
  return ts.isStringLiteralLike(init) && /^[A-Z_]+$/.test(d.name.getText(sf)) && /[#:][a-z]/.test(init.text);
}

/** Removal of a raw condition: always true (the caller still passes one). */
function rawRemoved(cond: ts.Expression, sf: ts.SourceFile): Mutant[] {
  return [{ label: 'condition always true', start: cond.getStart(sf), end: cond.getEnd(), text: `'${TRUE}'` }];
}

function literalRemoved(lit: ts.ObjectLiteralExpression, sf: ts.SourceFile): Mutant[] {
  const expr = lit.properties.find((p) => p.name?.getText(sf) === 'expr');
  if (!expr || !ts.isPropertyAssignment(expr)) return [];
  return [{ label: 'condition always true', start: expr.initializer.getStart(sf), end: expr.initializer.getEnd(), text: `'${TRUE}'` }];
}

/** Mutants that weaken (never strengthen) a condition expression. */
function weaken(node: ts.Expression, sf: ts.SourceFile, inAnd = false): Mutant[] {
  if (ts.isParenthesizedExpression(node)) return weaken(node.expression, sf, inAnd);
  if (ts.isConditionalExpression(node)) return [...weaken(node.whenTrue, sf), ...weaken(node.whenFalse, sf)];
  if (ts.isStringLiteralLike(node) || ts.isTemplateExpression(node)) return conjunctDrops(node, sf);
  if (isCondLiteral(node, sf)) {
    const expr = node.properties.find((p) => p.name?.getText(sf) === 'expr');
    if (!expr || !ts.isPropertyAssignment(expr)) return [];
    // Alone, an always-true literal is the same mutant as its removal; inside `and` it is not.
    return weaken(expr.initializer, sf).concat(inAnd ? single(expr.initializer, sf) : []);
  }
  if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
    const fn = node.expression.text;
    const [first] = node.arguments;
    if (fn === 'whereEquals' && first && ts.isObjectLiteralExpression(first) && first.properties.length > 1) {
      return first.properties.map((p, i) => ({
        label: `without ${p.name?.getText(sf) ?? p.getText(sf)}`,
        start: first.getStart(sf),
        end: first.getEnd(),
        text: `{ ${first.properties
          .filter((_, j) => j !== i)
          .map((q) => q.getText(sf))
          .join(', ')} }`,
      }));
    }
    if (fn === 'and' && node.arguments.length > 1) {
      const drops = node.arguments.map((a, i) => ({
        label: `without operand ${i + 1} of and (${a.getText(sf).slice(0, 40).replaceAll('\n', ' ')})`,
        start: node.getStart(sf),
        end: node.getEnd(),
        text: `and(${node.arguments
          .filter((_, j) => j !== i)
          .map((q) => q.getText(sf))
          .join(', ')})`,
      }));
      return [...drops, ...node.arguments.flatMap((a) => weaken(a, sf, true))];
    }
  }
  return [];
}

/** A one-conjunct expression string inside a literal: replaced by an always-true one. */
function single(init: ts.Expression, sf: ts.SourceFile): Mutant[] {
  if (!ts.isStringLiteralLike(init) || conjuncts(init.getText(sf).slice(1, -1)).length > 1) return [];
  return [{ label: 'condition always true', start: init.getStart(sf), end: init.getEnd(), text: `'${TRUE}'` }];
}

/** Leaves out each top-level `AND` operand of an expression string (template substitutions kept whole). */
function conjunctDrops(node: ts.Expression, sf: ts.SourceFile): Mutant[] {
  const raw = node.getText(sf);
  const quote = raw[0] as string;
  const inner = raw.slice(1, -1);
  const parts = conjuncts(inner);
  if (parts.length < 2) return [];
  return parts.map((p, i) => ({
    label: `without conjunct \`${p.trim()}\``,
    start: node.getStart(sf),
    end: node.getEnd(),
    text: `${quote}${parts
      .filter((_, j) => j !== i)
      .map((q) => q.trim())
      .join(' AND ')}${quote}`,
  }));
}

/** Splits on ` AND ` outside parentheses and `${...}`. */
export function conjuncts(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (depth === 0 && s.startsWith(' AND ', i)) {
      out.push(s.slice(last, i));
      last = i + 5;
    }
  }
  out.push(s.slice(last));
  return out;
}

/** The generic builders of expr.ts: `whereEquals` keeping only its first field, `and` only its first operand. */
function builderMutants(fn: ts.FunctionDeclaration, sf: ts.SourceFile): Mutant[] {
  const body = fn.body as ts.Block;
  const text = body.getText(sf);
  const at = (needle: string, replacement: string, label: string): Mutant[] => {
    const i = text.indexOf(needle);
    return i < 0 ? [] : [{ label, start: body.getStart(sf) + i, end: body.getStart(sf) + i + needle.length, text: replacement }];
  };
  if (fn.name?.text === 'whereEquals')
    return at('Object.entries(fields)', 'Object.entries(fields).slice(0, 1)', 'only the first field checked');
  if (fn.name?.text === 'and') return at('conds.map(', 'conds.slice(0, 1).map(', 'only the first operand checked');
  return [];
}
