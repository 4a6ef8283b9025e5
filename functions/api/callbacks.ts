import { z } from 'zod';
import { RequestError } from '../common/errors.js';
import { MAX_OUTPUT_DEPTH } from '../engine/limits.js';
import { type CallbackBody, completeByCallback } from '../orchestrator/callback.js';
import type { Deps } from '../orchestrator/deps.js';
import type { Routes } from './route.js';
import { callbackToken, limitedJson } from './schemas.js';

const SHAPE = 'the body must be {"output": ...} or {"error": {"message": "...", "reason"?: "...", "retryable"?: bool}}';

/** A callback report; `output` within the output depth and key limits (its size is checked against the config: 413). */
export const callbackBody = z
  .strictObject(
    {
      output: limitedJson({ maxDepth: MAX_OUTPUT_DEPTH }).optional(),
      error: z
        .strictObject({
          message: z.string().min(1).max(4096),
          reason: z
            .string()
            .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/)
            .optional(),
          retryable: z.boolean().optional(),
        })
        .optional(),
    },
    { error: SHAPE },
  )
  .refine((b) => Object.hasOwn(b, 'output') !== Object.hasOwn(b, 'error'), { error: SHAPE });

/**
 * `POST /callbacks/{token}`: an asynchronous `lambda` task's function reports its end with
 * `{ "output": ... }` or `{ "error": { "message", "reason"?, "retryable"? } }`. The token is the only
 * credential (see docs/task-types.md). Answers: 202 recorded; 400 bad body; 404 unknown token;
 * 403 token does not match the attempt; 409 already reported, or the attempt is over; 413 output too
 * large; 503 (Retry-After) the attempt is not ready for its report yet — retry.
 */
export function callbackRoutes(routes: Routes, deps: Deps): void {
  routes.add(
    {
      method: 'post',
      path: '/callbacks/:token',
      summary: "An asynchronous lambda task's function reports its end",
      params: z.object({ token: callbackToken }),
      body: callbackBody,
      responses: {
        202: 'recorded',
        400: 'bad body',
        403: 'the token does not match the attempt',
        404: 'unknown token',
        409: 'already reported, or the attempt is over',
        413: 'output too large',
        503: 'the attempt is not ready for its report yet; retry (Retry-After)',
      },
    },
    async (c, { params, body }) => {
      const report = body as CallbackBody;
      if ('output' in report) {
        const size = Buffer.byteLength(JSON.stringify(report.output ?? null));
        if (size > deps.db.config.maxOutputBytes) {
          throw new RequestError(413, 'output_too_large', `output is ${size} bytes; the limit is ${deps.db.config.maxOutputBytes}`);
        }
      }
      const r = await completeByCallback(deps, params.token, report);
      switch (r.kind) {
        case 'accepted':
          return c.json({ status: 'accepted', runId: r.runId, task: r.task, attempt: r.attempt }, 202);
        case 'not_found':
          throw new RequestError(404, 'not_found', 'callback token not found');
        case 'forbidden':
          throw new RequestError(403, 'forbidden', 'the callback token does not match this attempt');
        case 'conflict':
          throw new RequestError(409, r.code, r.message);
        case 'not_ready': {
          const e = new RequestError(503, 'not_ready', 'the attempt is not waiting for its report yet; retry shortly');
          return c.json(e.toJSON(), 503, { 'Retry-After': '1' });
        }
      }
    },
  );
}
