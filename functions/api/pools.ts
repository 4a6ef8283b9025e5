import { z } from 'zod';
import { notFound } from '../common/errors.js';
import { poolNameSchema, poolSlotsSchema } from '../engine/definition/pool-fields.js';
import type { Deps } from '../orchestrator/deps.js';
import { resizePool } from '../orchestrator/pools.js';
import { getPool, line, listPools, type PoolItem, parseHolder } from '../store/pools.js';
import type { Routes } from './route.js';

const poolPath = z.object({ name: poolNameSchema });

/** `PUT /pools/{name}`: the pool's size. */
export const putPoolBody = z.strictObject({ slots: poolSlotsSchema }, { error: 'the body must be a JSON object such as {"slots": 2}' });

/** A pool as the API shows it: size, slots in use, the attempts holding them, and the line in wake-up order. */
function poolView(p: PoolItem) {
  const holders = [...(p.holders ?? [])]
    .sort()
    .map(parseHolder)
    .filter((h) => h !== undefined);
  const waiting = line(p).map(({ runId, task, attempt, slots }) => ({ runId, task, attempt, slots }));
  return { name: p.name, slots: p.slots, inUse: p.inUse, waitingCount: waiting.length, holders, waiting };
}

/**
 * Pools (task groups, see orchestrator/pools.ts): `PUT /pools/{name}` `{ "slots": N }` creates or
 * resizes one (a smaller pool drains: holders keep their slots, nobody new starts until there is room);
 * `GET /pools`, `GET /pools/{name}`.
 */
export function poolRoutes(routes: Routes, deps: Deps): void {
  routes.add(
    {
      method: 'put',
      path: '/pools/:name',
      summary: 'Create or resize a pool',
      params: poolPath,
      body: putPoolBody,
      responses: { 200: 'the pool', 400: 'bad name or body' },
    },
    async (c, { params, body }) => {
      const p = await resizePool(deps, params.name, body.slots);
      const now = p && (await getPool(deps.db, params.name));
      return c.json(poolView(now ?? (p as PoolItem)));
    },
  );
  routes.add({ method: 'get', path: '/pools', summary: 'List pools', responses: { 200: 'pools' } }, async (c) => {
    const pools = await listPools(deps.db);
    return c.json({ pools: pools.map(poolView) });
  });
  routes.add(
    {
      method: 'get',
      path: '/pools/:name',
      summary: 'A pool',
      params: poolPath,
      responses: { 200: 'the pool', 400: 'bad name', 404: 'no such pool' },
    },
    async (c, { params }) => {
      const p = await getPool(deps.db, params.name);
      if (!p) throw notFound(`pool ${params.name}`);
      return c.json(poolView(p));
    },
  );
}
