import { notFound, RequestError } from '../common/errors.js';
import { derivedRunId, digest, newRunId } from '../common/ids.js';
import { resolveParams } from '../engine/definition/params.js';
import { type DefinitionItem, getDefinition, latestDefinition } from '../store/definitions.js';
import type { ParentLink, Trigger } from '../store/items.js';
import { createdRunning, createRun, getRun, type NewRun } from '../store/runs.js';
import type { Deps } from './deps.js';
import { startInline } from './run-start.js';

export interface StartRequest {
  readonly workflow: string;
  readonly version?: number;
  readonly params?: unknown;
  readonly trigger: Trigger;
  /** The same key for the same workflow always names the same run. */
  readonly idempotencyKey?: string;
  /** A run id decided by the caller (a schedule's fire time, a sub-workflow's linkage). */
  readonly runId?: string;
  readonly parent?: ParentLink;
  readonly depth?: number;
  readonly lineage?: string[];
  /**
   * The caller can dispatch workers (the API; a worker starting a child run): a run nothing gates is
   * started here, right after its creation, instead of by the master from the creation's stream record
   * (`BATON_INLINE_START`, `run-start.ts startInline`). The call then returns once the roots are queued
   * and dispatched.
   */
  readonly inline?: boolean;
}

export interface Started {
  readonly runId: string;
  readonly created: boolean;
  readonly version: number;
}

/**
 * Creates a run with one conditional put; the stream then starts it, or, for an `inline` request, this
 * call does (`run-start.ts startInline`) and the stream's record only checks that it did. The run id is
 * derived from the idempotency key (or given by the caller) so a repeated request finds the run it made
 * before (and does not start it again: the first request did, or the master does).
 *
 * A run whose start nothing gates is created `running` (its `startedAt` is its creation): the stream
 * record of that put queues its roots and arms its clock (`run-start.ts startCreated`), and no
 * queued → running write is paid (2 WRU: the table and the runs index, which projects `status`). The
 * one gate on a run's start is its definition's concurrency policy (`concurrency.ts admit`: the run
 * may be made pending or skipped); a run under one is created `queued` and admitted by the master.
 * Schedules' overlap, backfills' parallelism and sub-workflow nesting are all decided before the put
 * (the workflow's concurrency policy, the backfill's reservation, the parent's linkage), and pools
 * gate tasks, not runs.
 */
export async function startWorkflow(deps: Deps, req: StartRequest): Promise<Started> {
  const def: DefinitionItem | undefined =
    req.version !== undefined ? await getDefinition(deps.db, req.workflow, req.version) : await latestDefinition(deps.db, req.workflow);
  if (!def) throw notFound(req.version !== undefined ? `workflow ${req.workflow} version ${req.version}` : `workflow ${req.workflow}`);
  const params = resolveParams(def.definition.params, req.params ?? {});
  if (!params.ok) throw new RequestError(400, 'invalid_params', 'the run parameters do not match the workflow declaration', params.errors);
  const runId = req.runId ?? (req.idempotencyKey ? derivedRunId('k', req.workflow, req.idempotencyKey) : newRunId(deps.now()));
  const requestDigest = digest(canonical({ version: req.version ?? null, params: req.params ?? {} }));
  const running = !gated(def);
  const inline = running && req.inline === true && deps.db.config.inlineStart;
  const run: NewRun = {
    runId,
    workflow: req.workflow,
    version: def.version,
    params: params.value,
    createdAt: deps.now(),
    trigger: req.trigger,
    parent: req.parent,
    depth: req.depth ?? 0,
    lineage: req.lineage,
    idempotencyKey: req.idempotencyKey,
    requestDigest,
    ...(inline && { inlineStart: true }),
  };
  const created = await createRun(deps.db, run, running);
  if (created) {
    const to = running ? 'running' : 'queued';
    deps.log.info({ run: runId, workflow: req.workflow, version: def.version, trigger: req.trigger.type, to }, 'run transition');
    if (inline) await startInline(deps, createdRunning(deps.db, run));
    return { runId, created, version: def.version };
  }
  const existing = await getRun(deps.db, runId);
  if (!existing) throw new Error(`run ${runId} exists but could not be read`);
  if (req.idempotencyKey && existing.requestDigest !== requestDigest) {
    throw new RequestError(
      409,
      'idempotency_key_reused',
      `Idempotency-Key ${req.idempotencyKey} was already used for run ${runId} with a different request`,
    );
  }
  return { runId, created: false, version: existing.version };
}

/** Whether something must decide, after the run exists, if it may start: a concurrency policy other than `allow`. */
export function gated(def: Pick<DefinitionItem, 'definition'>): boolean {
  const cc = def.definition.concurrency;
  return cc !== undefined && cc.policy !== 'allow';
}

/** The value with object keys sorted at every level, so that key order does not change its digest. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
  );
}
