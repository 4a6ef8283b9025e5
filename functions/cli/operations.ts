import { type Command, InvalidArgumentError } from 'commander';
import type { BatonClient } from './client.js';

/**
 * The `baton` subcommands for day-2 operations: on runs (pause, resume, recover, rerun, cancel), on
 * tasks (complete), on schedules and on backfills. Each is one API call; the API base URL comes from
 * `--api` or `BATON_API_URL`.
 */
export function addOperationCommands(cli: Command, client: () => BatonClient): void {
  const print = (v: unknown): void => {
    process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  };
  const enc = encodeURIComponent;
  const runs = cli.commands.find((c) => c.name() === 'runs') ?? cli.command('runs').description('runs');
  const runOp = (op: string, description: string) =>
    runs
      .command(`${op} <runId>`)
      .description(description)
      .action(async (id: string) => print(await client().call('POST', `/runs/${enc(id)}/${op}`)));
  runOp('pause', 'pause a running run: running tasks finish, nothing new starts');
  runOp('resume', 'resume a paused run: everything that became ready meanwhile is queued');
  runOp('rerun', 'start a new run of the same workflow version with the same params');
  runOp('cancel', 'cancel a run: stops running tasks, waits and children');
  runs
    .command('recover <runId>')
    .description('run a failed or cancelled run again from its failed tasks (or from --task ones) and everything downstream')
    .option('--task <name...>', 'the tasks to run again (required for a succeeded run)')
    .option('--key <key>', 'Idempotency-Key: a retried request with the same key is a no-op')
    .action(async (id: string, o: { task?: string[]; key?: string }) => {
      const headers: Record<string, string> = o.key ? { 'idempotency-key': o.key } : {};
      print(await client().call('POST', `/runs/${enc(id)}/recover`, o.task ? { tasks: o.task } : {}, headers));
    });

  const tasks = cli.command('tasks').description('tasks of a run');
  tasks
    .command('complete <runId> <task>')
    .description('mark a failed, waiting, queued or running task succeeded with the given output')
    .option('--output <json>', 'the task output, as JSON', json, null)
    .action(async (runId: string, task: string, o: { output: unknown }) =>
      print(await client().call('POST', `/runs/${enc(runId)}/tasks/${enc(task)}/complete`, { output: o.output })),
    );

  const schedules = cli.command('schedules').description('cron schedules of a workflow');
  schedules
    .command('list <workflow>')
    .description('list the schedules of a workflow')
    .action(async (wf: string) => print(await client().call('GET', `/workflows/${enc(wf)}/schedules`)));
  schedules
    .command('get <workflow> <id>')
    .description('show one schedule')
    .action(async (wf: string, id: string) => print(await client().call('GET', `/workflows/${enc(wf)}/schedules/${enc(id)}`)));
  for (const op of ['pause', 'resume'] as const) {
    schedules
      .command(`${op} <workflow> <id>`)
      .description(op === 'pause' ? 'stop firing a schedule' : 'fire a paused schedule again')
      .action(async (wf: string, id: string) => print(await client().call('POST', `/workflows/${enc(wf)}/schedules/${enc(id)}/${op}`)));
  }

  const backfills = cli.command('backfills').description('backfills: runs for past fire times');
  backfills
    .command('start <workflow>')
    .description('start a backfill between two instants (ISO-8601) of a schedule or a cron expression')
    .requiredOption('--start <instant>', 'first fire time considered')
    .requiredOption('--end <instant>', 'last fire time considered')
    .option('--schedule <id>', "use this schedule's cron and time zone")
    .option('--body <json>', 'any further fields of the request body, as JSON (e.g. {"mode":"parallel"})', json, {})
    .action(async (wf: string, o: { start: string; end: string; schedule?: string; body: object }) =>
      print(
        await client().call('POST', `/workflows/${enc(wf)}/backfills`, {
          ...o.body,
          start: o.start,
          end: o.end,
          ...(o.schedule ? { scheduleId: o.schedule } : {}),
        }),
      ),
    );
  backfills
    .command('get <id>')
    .description('show a backfill and its progress')
    .action(async (id: string) => print(await client().call('GET', `/backfills/${enc(id)}`)));
  backfills
    .command('cancel <id>')
    .description('stop starting new runs of a backfill')
    .action(async (id: string) => print(await client().call('POST', `/backfills/${enc(id)}/cancel`)));
}

function json(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
}
