import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { TERMINAL_RUN } from '../store/items.js';
import { ApiError, BatonClient } from './client.js';
import { formatRun } from './format.js';
import { addOperationCommands } from './operations.js';

function param(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  const raw = value.slice(eq + 1);
  let v: unknown = raw;
  try {
    v = JSON.parse(raw);
  } catch {
    // Not JSON: keep it as a string.
  }
  return { ...previous, [value.slice(0, eq)]: v };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const print = (v: unknown) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);

export function program(): Command {
  const cli = new Command('baton')
    .description('Command-line client for the Baton workflow scheduler')
    .option('--api <url>', 'API base URL (or BATON_API_URL)', process.env.BATON_API_URL ?? 'http://127.0.0.1:3000')
    .option('--token <jwt>', 'bearer token for a JWT-protected API (or BATON_TOKEN)', process.env.BATON_TOKEN)
    .showHelpAfterError(false)
    .exitOverride();
  const client = () => new BatonClient(cli.opts().api, cli.opts().token);

  const wf = cli.command('workflows').alias('wf').description('workflow definitions');
  wf.command('list').action(async () => {
    const r = await client().call('GET', '/workflows');
    for (const w of r.workflows) print(`${w.name}\tv${w.latestVersion}\t${w.description ?? ''}`);
  });
  wf.command('put <file>')
    .description('store a definition (YAML or JSON); prints the version')
    .option('--name <name>', 'workflow name (default: the name in the file; never the file name)')
    .action(async (file: string, o: { name?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ApiError(0, 'file', `cannot read ${file}: ${(err as Error).message}`);
      }
      const yaml = ['.yaml', '.yml'].includes(extname(file));
      const name = o.name ?? nameIn(text, yaml);
      if (name === undefined) throw new ApiError(0, 'no_name', `${file} has no name: field; give one, or --name`);
      const r = await client().call('PUT', `/workflows/${encodeURIComponent(name)}`, text, {
        'content-type': yaml ? 'application/yaml' : 'application/json',
      });
      print(`${r.name} v${r.version}${r.created ? '' : ' (unchanged)'}`);
    });
  wf.command('get <name>')
    .option('--version <n>', 'a specific version', positive)
    .action(async (name: string, o: { version?: number }) => {
      print(await client().call('GET', `/workflows/${encodeURIComponent(name)}${o.version ? `?version=${o.version}` : ''}`));
    });

  cli
    .command('start <workflow>')
    .description('start a run; prints its id')
    .option('-p, --param <key=value>', 'a parameter (value parsed as JSON when it is JSON)', param)
    .option('--version <n>', 'pin a definition version', positive)
    .option('--idempotency-key <key>', 'the same key returns the same run')
    .option('-w, --wait', 'wait for the run to finish; exit 1 if it failed')
    .action(async (workflow: string, o: { param?: Record<string, unknown>; version?: number; idempotencyKey?: string; wait?: boolean }) => {
      const headers: Record<string, string> = o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {};
      const r = await client().call(
        'POST',
        `/workflows/${encodeURIComponent(workflow)}/runs`,
        { params: o.param ?? {}, version: o.version },
        headers,
      );
      print(r.runId);
      if (o.wait) await watch(client(), r.runId, false);
    });

  const runs = cli.command('runs').description('runs');
  runs
    .command('get <runId>')
    .option('--json', 'raw JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await client().call('GET', `/runs/${encodeURIComponent(id)}`);
      print(o.json ? r : formatRun(r));
    });
  runs
    .command('list <workflow>')
    .option('--status <status>')
    .option('--limit <n>', 'page size', positive)
    .option('--cursor <cursor>')
    .action(async (workflow: string, o: { status?: string; limit?: number; cursor?: string }) => {
      const q = new URLSearchParams();
      if (o.status) q.set('status', o.status);
      if (o.limit) q.set('limit', String(o.limit));
      if (o.cursor) q.set('cursor', o.cursor);
      const r = await client().call('GET', `/workflows/${encodeURIComponent(workflow)}/runs?${q}`);
      for (const run of r.runs) print(`${run.runId}\t${run.status}\tv${run.version}\t${run.createdAt}`);
      if (r.cursor) print(`next: --cursor ${r.cursor}`);
    });
  runs
    .command('watch <runId>')
    .description('follow a run until it finishes; exit 1 if it failed')
    .action(async (id: string) => {
      await watch(client(), id, true);
    });
  runs.command('children <runId>').action(async (id: string) => {
    const r = await client().call('GET', `/runs/${encodeURIComponent(id)}/children`);
    for (const c of r.children) print(`${c.task}#${c.attempt}\t${c.runId}\t${c.workflow}`);
  });
  addOperationCommands(cli, client);
  return cli;
}

function nameIn(text: string, yaml: boolean): string | undefined {
  if (yaml) return /^name:\s*["']?([A-Za-z][\w-]*)/m.exec(text)?.[1];
  try {
    const name = JSON.parse(text).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the run, printing each task status change, until it is terminal. */
async function watch(client: BatonClient, runId: string, verbose: boolean): Promise<void> {
  const seen = new Map<string, string>();
  for (;;) {
    const r = await client.call('GET', `/runs/${encodeURIComponent(runId)}`);
    for (const t of r.tasks) {
      if (verbose && seen.get(t.name) !== t.status)
        print(`${new Date().toISOString()}  ${t.name}: ${t.status}${t.error ? ` (${t.error.reason})` : ''}`);
      seen.set(t.name, t.status);
    }
    if (TERMINAL_RUN.has(r.status)) {
      print(`run ${runId} ${r.status}${r.failure ? `: ${r.failure.task}: ${r.failure.reason}: ${r.failure.message}` : ''}`);
      if (r.status !== 'succeeded') process.exitCode = 1;
      return;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander on one line.
      return err.exitCode;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`baton: ${err.oneLine()}\n`);
      return err.status === 0 ? 2 : 1;
    }
    process.stderr.write(`baton: ${(err as Error).message}\n`);
    return 1;
  }
}
