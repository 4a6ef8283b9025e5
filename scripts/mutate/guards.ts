/**
 * The guard mutation run (`npm run mutate`): every conditional write in `functions/store/` is found in
 * the source, each is removed or weakened one at a time in a copy of the repository, and the guard race
 * tests run against the copy. A guard whose mutants all make a test fail is load-bearing; one whose
 * mutant passes every test "survived". The report goes to docs/mutation-guards.md (`--write`) and stdout.
 *
 *   npm run mutate [-- --write] [--only <substrings of guard ids, comma-separated>] [--jobs N]
 *                  [--timeout <s per vitest run, 300>] [--log <progress log>] [--resume <progress log>]
 *                  [--tests <files: instead of the targeted files and the fast tier>] [--whole-tier] [--mutant <label substrings, comma-separated>]
 *                  [--equivalent (also run the mutants argued equivalent in equivalent.ts)]
 *   npm run mutate -- --from-log <progress logs...> [--write]   (report of earlier, partial runs)
 *   npm run mutate -- --list                                     (guards, mutants, targeted test files)
 *
 * Bounded time: each mutant runs first against the guard test files aimed at it (`targetedTests`:
 * seconds), and only if those pass against the whole fast tier. Every result is appended to the
 * progress log as it comes, so a run cut short resumes with `--resume <log>`.
 *
 * Why not StrykerJS here: its mutators rewrite any operator or literal, so most of its mutants in
 * store/ would not be guard mutants, and its string mutator turns a condition into "" (a DynamoDB
 * ValidationException, "killed" for the wrong reason). This tool knows what a guard is, and its copy
 * prunes placeholders that a removed condition leaves unused, so a mutant is exactly "this condition
 * does not hold back this write". See docs/mutation.md.
 */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { equivalence } from './equivalent.js';
import { findGuards, findUnmutated, type Guard } from './find-guards.js';
import { HARNESS_PATCHES } from './harness-patches.js';

const ROOT = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag('--only');
const tests = flag('--tests');
const jobs = Math.max(1, Number(flag('--jobs') ?? 1));
const timeoutS = Number(flag('--timeout') ?? 300);
const logFile = resolve(flag('--log') ?? join(ROOT, 'reports/mutate-guards.log'));
const resumeFrom = flag('--resume');
const wholeTier = args.includes('--whole-tier');
const mutantFilter = flag('--mutant');
/** Run the mutants argued equivalent in `equivalent.ts` too (by default they are listed, not run). */
const runEquivalent = args.includes('--equivalent');

/** Store modules whose guards every store function shares: their mutants go straight to every guard test. */
const SHARED = new Set(['db.ts', 'expr.ts', 'client.ts']);

interface Result {
  readonly guard: Guard;
  readonly mutant: string;
  readonly killedBy?: string;
  readonly error?: string;
  /** Which run killed it: the guard's own test files, or the whole fast tier. */
  readonly stage?: 'targeted' | 'fast tier';
  readonly seconds?: number;
}

/**
 * The guard test files aimed at a guard: those that import its store module and name its function, or
 * a function of that module that uses it (a builder such as `holds`). Derived from the source, so a
 * new store file and its new test file are paired without a map to keep up to date. Falls back to
 * every guard test file when nothing matches.
 */
export function targetedTests(root: string, guard: Guard): string[] {
  const all = readdirSync(join(root, 'test/guards'))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `test/guards/${f}`);
  const module = guard.file.replace('functions/store/', '');
  if (SHARED.has(module)) return all;
  const fn = guard.id.slice(guard.id.indexOf(':') + 1).split(' ')[0] as string;
  const src = readFileSync(join(root, guard.file), 'utf8');
  const names = new Set([fn, ...users(src, fn)]);
  const word = (n: string) => new RegExp(`\\b${n.replace(/[$]/g, '\\$&')}\\b`);
  const importer = `store/${module.replace(/\.ts$/, '.js')}`;
  const hits = all.filter((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    return text.includes(importer) && [...names].some((n) => word(n).test(text));
  });
  return hits.length > 0 ? hits : all;
}

/** Top-level declarations of a module whose text uses `name` (one level: the writes a builder guards). */
function users(src: string, name: string): string[] {
  const re = new RegExp(`\\b${name}\\b`);
  const out: string[] = [];
  const decl = /^export (?:async )?(?:function|const) ([A-Za-z_$][\w$]*)/gm;
  const starts = [...src.matchAll(decl)];
  starts.forEach((m, i) => {
    const body = src.slice((m.index ?? 0) + m[0].length, starts[i + 1]?.index ?? src.length);
    if (re.test(body)) out.push(m[1] as string);
  });
  return out;
}

function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-mutate-'));
  // docs too: engine tests check the examples in docs/ (without them a mutant reaching the fast tier is
  // "killed" by a missing file, for the wrong reason).
  for (const f of ['functions', 'test', 'docs', 'tsconfig.json', 'package.json', 'vitest.config.ts'])
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  for (const p of HARNESS_PATCHES) {
    const file = join(dir, p.file);
    const src = readFileSync(file, 'utf8');
    if (!src.includes(p.find)) throw new Error(`harness patch for ${p.file} no longer applies: ${p.find}`);
    writeFileSync(
      file,
      src.replace(p.find, () => p.replace),
    );
  }
  return dir;
}

/** Runs the tests in `dir` (`files`, or the whole fast tier); the first failing test's name, or undefined when all pass. */
async function runTests(dir: string, env: NodeJS.ProcessEnv, files: string[]): Promise<{ failed?: string; error?: string }> {
  const out = join(dir, 'vitest-report.json');
  rmSync(out, { force: true });
  const r = await new Promise<{ status: number | null; stderr: string; stdout: string; timedOut: boolean }>((done) => {
    const p = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--project',
        'fast',
        '--bail',
        '1',
        // Several jobs at once: one test file at a time each, so that N jobs use N cores.
        ...(jobs > 1 ? ['--maxWorkers', '1'] : []),
        '--reporter',
        'json',
        '--outputFile',
        out,
        ...files,
      ],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let timedOut = false;
    // A mutant that hangs a test (a loop that never sees its condition fail) ends as a timeout.
    const timer = setTimeout(() => {
      timedOut = true;
      if (p.pid) process.kill(-p.pid, 'SIGKILL');
    }, timeoutS * 1000);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => {
      stdout = (stdout + b).slice(-4000);
    });
    p.stderr.on('data', (b) => {
      stderr = (stderr + b).slice(-4000);
    });
    p.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr, timedOut });
    });
  });
  if (r.timedOut) return { error: `timed out after ${timeoutS} s` };
  let report: {
    testResults?: { name: string; status: string; message?: string; assertionResults: { status: string; fullName: string }[] }[];
  };
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    return { error: `no report (exit ${r.status}): ${(r.stderr || r.stdout).slice(-400)}` };
  }
  for (const f of report.testResults ?? []) {
    const bad = f.assertionResults.find((a) => a.status === 'failed');
    if (bad) return { failed: `${relative(dir, f.name)} > ${bad.fullName}` };
    if (f.status === 'failed') return { error: `${relative(dir, f.name)}: ${f.message ?? 'failed'}`.slice(0, 400) };
  }
  return r.status === 0 ? {} : { error: `exit ${r.status} with no failed test: ${(r.stderr || r.stdout).slice(-400)}` };
}

const PROGRESS = /^\[\d+\/\d+\] (.+?) :: (.+?) -> (killed by (.+?)|ERROR (.*?)|SURVIVED)(?: \[(targeted|fast tier), (\d+) s\])?$/;

/** The results recorded in progress logs; the latest line for a mutant wins. */
function readLogs(files: string[], guards: Guard[]): Map<string, Result> {
  const seen = new Map<string, Result>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      const m = PROGRESS.exec(l);
      const guard = m && guards.find((g) => g.id === m[1]);
      if (!m || !guard) continue;
      seen.set(`${m[1]}\u0000${m[2]}`, {
        guard,
        mutant: m[2] as string,
        killedBy: m[4],
        error: m[5],
        stage: m[6] as Result['stage'],
        seconds: m[7] === undefined ? undefined : Number(m[7]),
      });
    }
  }
  return seen;
}

async function main() {
  const dir = copyRepo();
  const wanted = only?.split(',');
  const guards = findGuards(dir).filter((g) => !wanted || wanted.some((w) => g.id.includes(w)));
  const done = resumeFrom ? readLogs([resumeFrom], guards) : new Map<string, Result>();

  let endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  let stop: (() => Promise<void>) | undefined;
  if (!endpoint) {
    const { startDynamoLocal } = await import('../../functions/local/dynamodb-local.js');
    const d = await startDynamoLocal();
    endpoint = d.endpoint;
    stop = () => d.stop();
  }
  const env = { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const results: Result[] = [...done.values()];
  const dirs = [dir, ...Array.from({ length: jobs - 1 }, () => copyRepo())];
  const targets = new Map(guards.map((g) => [g.id, tests ? [tests] : targetedTests(dir, g)]));
  mkdirSync(dirname(logFile), { recursive: true });
  const started = Date.now();
  try {
    const work = guards.flatMap((guard) =>
      guard.mutants
        .filter(
          (m) =>
            !done.has(`${guard.id}\u0000${m.label}`) &&
            (runEquivalent || !equivalence(guard.id, m.label)) &&
            (!mutantFilter || mutantFilter.split(',').some((f) => m.label.includes(f))),
        )
        .map((mutant) => ({ guard, mutant })),
    );
    // Baseline: the tests this run will use must pass without any mutant.
    const baseFiles = [...new Set(work.flatMap((w) => targets.get(w.guard.id) ?? []))];
    if (baseFiles.length > 0 && !wholeTier) {
      const base = await runTests(dir, env, baseFiles);
      if (base.failed || base.error) throw new Error(`the tests fail without any mutant: ${base.failed ?? base.error}`);
    }
    const total = work.length;
    let i = 0;
    await Promise.all(
      dirs.map(async (d) => {
        for (let w = work.shift(); w; w = work.shift()) {
          const { guard: g, mutant: m } = w;
          const file = join(d, g.file);
          const pristine = readFileSync(file, 'utf8');
          writeFileSync(file, pristine.slice(0, m.start) + m.text + pristine.slice(m.end));
          const t0 = Date.now();
          try {
            // The guard's own test files first (seconds), then the whole fast tier if they pass.
            // `--whole-tier`: what `npm test` does first (the whole fast tier), to time how soon it fails.
            let r = wholeTier ? {} : await runTests(d, env, targets.get(g.id) ?? []);
            let stage: Result['stage'] = 'targeted';
            if (!r.failed && !tests) {
              r = await runTests(d, env, []);
              stage = 'fast tier';
            }
            const seconds = Math.round((Date.now() - t0) / 1000);
            results.push({ guard: g, mutant: m.label, killedBy: r.failed, error: r.error, stage, seconds });
            const line = `[${++i}/${total}] ${g.id} :: ${m.label} -> ${r.failed ? `killed by ${r.failed}` : r.error ? `ERROR ${r.error.replaceAll('\n', ' ')}` : 'SURVIVED'} [${stage}, ${seconds} s]`;
            console.log(line);
            appendFileSync(logFile, `${line}\n`);
          } finally {
            writeFileSync(file, pristine);
          }
        }
      }),
    );
  } finally {
    await stop?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const minutes = Math.round((Date.now() - started) / 60_000);
  const md = report(sorted(results, guards), guards, targets, `npm run mutate -- ${args.join(' ')}`.trim(), minutes);
  console.log(md);
  if (args.includes('--write')) writeFileSync(join(ROOT, 'docs/mutation-guards.md'), md);
  process.exitCode = results.some((r) => !r.killedBy) ? 1 : 0;
}

function sorted(results: Result[], guards: Guard[]): Result[] {
  const order = guards.flatMap((g) => g.mutants.map((m) => `${g.id}\u0000${m.label}`));
  return results.sort((a, b) => order.indexOf(`${a.guard.id}\u0000${a.mutant}`) - order.indexOf(`${b.guard.id}\u0000${b.mutant}`));
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function report(results: Result[], guards: Guard[], targets: Map<string, string[]>, command: string, minutes?: number): string {
  const killed = results.filter((r) => r.killedBy).length;
  const all = guards.flatMap((g) => g.mutants.map((m) => ({ g, m })));
  const ran = new Set(results.map((r) => `${r.guard.id}\u0000${r.mutant}`));
  const equivalent = all.filter(({ g, m }) => !ran.has(`${g.id}\u0000${m.label}`) && equivalence(g.id, m.label));
  const missing = all.filter(({ g, m }) => !ran.has(`${g.id}\u0000${m.label}`) && !equivalence(g.id, m.label));
  const byStage = (s: Result['stage']) => results.filter((r) => r.killedBy && r.stage === s).length;
  const unmutated = findUnmutated(ROOT);
  return [
    '# Guard mutation report',
    '',
    `Command: \`${command}\`. Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${minutes === undefined ? '' : `; ${minutes} min`}.`,
    '',
    `${guards.length} guards, ${all.length} mutants; ${results.length} run: **${killed} killed, ${results.length - killed} survived**` +
      ` (killed by the guard's own test files: ${byStage('targeted')}; by the rest of the fast tier: ${byStage('fast tier')}).` +
      (equivalent.length ? ` Argued equivalent, not run: ${equivalent.length} (below).` : '') +
      (missing.length ? ` Not run: ${missing.length}.` : ''),
    '',
    'Each mutant ran against the guard test files that import its store module and name its function (or a function',
    'that uses it), then, if none failed, against the whole fast tier (`vitest run --project fast --bail 1`).',
    '',
    '| guard | mutant | result | s |',
    '|---|---|---|---|',
    ...results.map(
      (r) =>
        `| \`${r.guard.id}\` | ${cell(r.mutant)} | ${r.killedBy ? `killed by ${cell(r.killedBy)}` : `**survived**${r.error ? ` (${cell(r.error)})` : ''}`} | ${r.seconds ?? ''} |`,
    ),
    '',
    ...(equivalent.length
      ? [
          'Equivalent mutants (`scripts/mutate/equivalent.ts`): the condition left is as strong as the whole one, so no test can',
          'kill them; each is kept on purpose, for the reason given.',
          '',
          '| guard | mutant | why it is equivalent, and why the part stays |',
          '|---|---|---|',
          ...equivalent.map(({ g, m }) => `| \`${g.id}\` | ${cell(m.label)} | ${cell(equivalence(g.id, m.label) ?? '')} |`),
          '',
        ]
      : []),
    ...(missing.length
      ? [
          `Not run: ${missing.length} mutants.`,
          '',
          '| guard | mutant |',
          '|---|---|',
          ...missing.map(({ g, m }) => `| \`${g.id}\` | ${cell(m.label)} |`),
          '',
        ]
      : []),
    ...(unmutated.length
      ? [
          'Writes in `functions/store/` the finder does not mutate (a command built outside `Db`, a computed condition): add a rule to `scripts/mutate/find-guards.ts`.',
          '',
          ...unmutated.map((u) => `- ${u.file}:${u.line} \`${u.text}\``),
          '',
        ]
      : ['Every write in `functions/store/` goes through a `Db` method the finder knows (no command built elsewhere).', '']),
    '| guard | test files run first |',
    '|---|---|',
    ...guards.map((g) => `| \`${g.id}\` | ${(targets.get(g.id) ?? []).map((f) => f.replace('test/guards/', '')).join(', ')} |`),
    '',
  ].join('\n');
}

/**
 * `--from-log <files...>`: the report from the progress lines of earlier runs (a long run stopped early,
 * or several `--only` runs). The latest line for a mutant wins; mutants never run are listed as such.
 */
function fromLogs(files: string[]): string {
  const dir = copyRepo();
  const guards = findGuards(dir);
  const targets = new Map(guards.map((g) => [g.id, targetedTests(dir, g)]));
  rmSync(dir, { recursive: true, force: true });
  const results = sorted([...readLogs(files, guards).values()], guards);
  return report(results, guards, targets, `npm run mutate -- --from-log ${files.map((f) => relative(ROOT, f)).join(' ')} --write`);
}

const logs = args.indexOf('--from-log');
if (logs >= 0) {
  const md = fromLogs(
    args
      .slice(logs + 1)
      .filter((a) => !a.startsWith('--'))
      .map((f) => resolve(f)),
  );
  console.log(md);
  if (args.includes('--write')) writeFileSync(join(ROOT, 'docs/mutation-guards.md'), md);
} else if (args.includes('--list')) {
  // Listing only: `npm run mutate -- --list`.
  const dir = copyRepo();
  for (const g of findGuards(dir)) {
    console.log(`${g.id}   [${targetedTests(dir, g).join(' ')}]`);
    for (const m of g.mutants)
      console.log(`  - ${m.label}${equivalence(g.id, m.label) ? '   (equivalent: not run, see equivalent.ts)' : ''}`);
  }
  for (const u of findUnmutated(dir)) console.log(`not mutated: ${u.file}:${u.line} ${u.text}`);
  rmSync(dir, { recursive: true, force: true });
} else {
  await main();
}
