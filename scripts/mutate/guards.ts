/**
 * The guard mutation run (`npm run mutate`): every conditional write in `functions/store/` is found in
 * the source, each is removed or weakened one at a time in a copy of the repository, and the guard race
 * tests run against the copy. A guard whose mutants all make a test fail is load-bearing; one whose
 * mutant passes every test "survived". The report goes to docs/mutation.md (`--write`) and stdout.
 *
 *   npm run mutate -- --from-log <progress logs...> [--write]   (report of earlier, partial runs)
 *   npm run mutate [-- --write] [-- --only <substrings of guard ids, comma-separated>] [-- --jobs N] [-- --tests <vitest filter>]
 *
 * Why not StrykerJS here: its mutators rewrite any operator or literal, so most of its mutants in
 * store/ would not be guard mutants, and its string mutator turns a condition into "" (a DynamoDB
 * ValidationException, "killed" for the wrong reason). This tool knows what a guard is, and its copy
 * prunes placeholders that a removed condition leaves unused, so a mutant is exactly "this condition
 * does not hold back this write". See docs/mutation.md.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { findGuards, type Guard } from './find-guards.js';
import { HARNESS_PATCHES } from './harness-patches.js';

const ROOT = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = flag('--only');
const tests = flag('--tests') ?? 'test/guards';

/** Where a store file's guards are tested first; every guard test runs when those do not kill a mutant. */
const NEAR: Record<string, string[]> = {
  'tasks.ts': ['test/guards/tasks.test.ts'],
  'expr.ts': ['test/guards/tasks.test.ts'],
  'runs.ts': ['test/guards/runs.test.ts', 'test/guards/run-transitions.test.ts'],
  'db.ts': ['test/guards/runs.test.ts'],
  'definitions.ts': ['test/guards/run-transitions.test.ts'],
  'callbacks.ts': ['test/guards/callbacks.test.ts'],
  'schedules.ts': ['test/guards/schedules.test.ts'],
  'backfills.ts': ['test/guards/backfills.test.ts'],
};

interface Result {
  readonly guard: Guard;
  readonly mutant: string;
  readonly killedBy?: string;
  readonly error?: string;
}

function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-mutate-'));
  for (const f of ['functions', 'test', 'tsconfig.json', 'package.json', 'vitest.config.ts'])
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

/** Runs the tests in `dir`; the first failing test's name, or undefined when all pass. */
async function runTests(dir: string, env: NodeJS.ProcessEnv, files = [tests]): Promise<{ failed?: string; error?: string }> {
  const out = join(dir, 'vitest-report.json');
  rmSync(out, { force: true });
  const r = await new Promise<{ status: number | null; stderr: string; stdout: string }>((done) => {
    const p = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--project',
        'fast',
        '--bail',
        '1',
        '--reporter',
        'json',
        '--outputFile',
        out,
        ...files,
      ],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => {
      stdout = (stdout + b).slice(-4000);
    });
    p.stderr.on('data', (b) => {
      stderr = (stderr + b).slice(-4000);
    });
    p.on('close', (status) => done({ status, stdout, stderr }));
  });
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

async function main() {
  const dir = copyRepo();
  const wanted = only?.split(',');
  const guards = findGuards(dir).filter((g) => !wanted || wanted.some((w) => g.id.includes(w)));

  let endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  let stop: (() => Promise<void>) | undefined;
  if (!endpoint) {
    const { startDynamoLocal } = await import('../../functions/local/dynamodb-local.js');
    const d = await startDynamoLocal();
    endpoint = d.endpoint;
    stop = () => d.stop();
  }
  const env = { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const results: Result[] = [];
  const jobs = Math.max(1, Number(flag('--jobs') ?? 1));
  const dirs = [dir, ...Array.from({ length: jobs - 1 }, () => copyRepo())];
  try {
    // Baseline: the tests this run will use must pass without any mutant.
    const nearFiles = guards.map((g) => NEAR[g.file.replace('functions/store/', '')]);
    const scoped = nearFiles.every((f) => f !== undefined) && !flag('--tests');
    const base = await runTests(dir, env, scoped ? [...new Set(nearFiles.flat() as string[])] : [tests]);
    if (base.failed || base.error) throw new Error(`the tests fail without any mutant: ${base.failed ?? base.error}`);
    const work = guards.flatMap((guard) => guard.mutants.map((mutant) => ({ guard, mutant })));
    const total = work.length;
    let i = 0;
    await Promise.all(
      dirs.map(async (d) => {
        for (let w = work.shift(); w; w = work.shift()) {
          const { guard: g, mutant: m } = w;
          const file = join(d, g.file);
          const pristine = readFileSync(file, 'utf8');
          writeFileSync(file, pristine.slice(0, m.start) + m.text + pristine.slice(m.end));
          try {
            // The test file named after the guard's store file first (quick), then all of them.
            const near = NEAR[g.file.replace('functions/store/', '')]?.filter((f) => existsSync(join(d, f)));
            let r = near?.length ? await runTests(d, env, near) : {};
            if (!r.failed) r = await runTests(d, env);
            results.push({ guard: g, mutant: m.label, killedBy: r.failed, error: r.error });
            console.log(
              `[${++i}/${total}] ${g.id} :: ${m.label} -> ${r.failed ? `killed by ${r.failed}` : r.error ? `ERROR ${r.error}` : 'SURVIVED'}`,
            );
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
  const order = guards.flatMap((g) => g.mutants.map((m) => `${g.id}\u0000${m.label}`));
  results.sort((a, b) => order.indexOf(`${a.guard.id}\u0000${a.mutant}`) - order.indexOf(`${b.guard.id}\u0000${b.mutant}`));
  const md = report(results, guards.length);
  console.log(md);
  if (args.includes('--write')) writeFileSync(join(ROOT, 'docs/mutation-guards.md'), md);
  process.exitCode = results.some((r) => !r.killedBy) ? 1 : 0;
}

function report(results: Result[], guardCount: number, command = `npm run mutate -- --write (tests: ${tests}, fast tier)`): string {
  const killed = results.filter((r) => r.killedBy).length;
  const lines = [
    '# Guard mutation report',
    '',
    `Command: \`${command}\`. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `${guardCount} guards, ${results.length} mutants: ${killed} killed, ${results.length - killed} survived.`,
    '',
    '| guard | mutant | result |',
    '|---|---|---|',
    ...results.map(
      (r) =>
        `| \`${r.guard.id}\` | ${r.mutant} | ${r.killedBy ? `killed by ${r.killedBy.replaceAll('|', '\\|')}` : `**survived**${r.error ? ` (${r.error.replaceAll('|', '\\|').replaceAll('\n', ' ')})` : ''}`} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/**
 * `--from-log <files...>`: the report from the progress lines of earlier runs (a long run stopped early,
 * or several `--only` runs). The latest line for a mutant wins; mutants never run are listed as such.
 */
function fromLogs(files: string[]): string {
  const dir = copyRepo();
  const guards = findGuards(dir);
  rmSync(dir, { recursive: true, force: true });
  const line = /^\[\d+\/\d+\] (.+?) :: (.+?) -> (killed by (.+)|ERROR (.*)|SURVIVED)$/;
  const seen = new Map<string, Result>();
  for (const f of files) {
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      const m = line.exec(l);
      const guard = m && guards.find((g) => g.id === m[1]);
      if (m && guard) seen.set(`${m[1]}\u0000${m[2]}`, { guard, mutant: m[2] as string, killedBy: m[4], error: m[5] });
    }
  }
  const results = guards.flatMap((g) => g.mutants.flatMap((m) => seen.get(`${g.id}\u0000${m.label}`) ?? []));
  const missing = guards.flatMap((g) =>
    g.mutants.filter((m) => !seen.has(`${g.id}\u0000${m.label}`)).map((m) => `| \`${g.id}\` | ${m.label} |`),
  );
  const ran = new Set(results.map((r) => r.guard.id)).size;
  return [
    report(results, ran, `npm run mutate -- --only <...> (partial runs), then --from-log <their logs> --write`),
    `Not run in these runs: ${missing.length} mutants.`,
    '',
    ...(missing.length ? ['| guard | mutant |', '|---|---|', ...missing, ''] : []),
  ].join('\n');
}

const logs = args.indexOf('--from-log');
if (logs >= 0) {
  const md = fromLogs(args.slice(logs + 1).filter((a) => !a.startsWith('--')));
  console.log(md);
  if (args.includes('--write')) writeFileSync(join(ROOT, 'docs/mutation-guards.md'), md);
} else if (args.includes('--list')) {
  // Listing only: `npm run mutate -- --list`.
  const dir = copyRepo();
  for (const g of findGuards(dir)) {
    console.log(g.id);
    for (const m of g.mutants) console.log(`  - ${m.label}`);
  }
  rmSync(dir, { recursive: true, force: true });
} else {
  await main();
}
