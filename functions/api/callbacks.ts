import { Hono } from 'hono';
import { z } from 'zod';
import { RequestError } from '../common/errors.js';
import { type CallbackBody, completeByCallback } from '../orchestrator/callback.js';
import type { Deps } from '../orchestrator/deps.js';

const body = z.union([
  z.object({ output: z.unknown() }).strict(),
  z
    .object({
      error: z
        .object({
          message: z.string().min(1).max(4096),
          reason: z
            .string()
            .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/)
            .optional(),
          retryable: z.boolean().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/**
 * `POST /callbacks/{token}`: an asynchronous `lambda` task's function reports its end with
 * `{ "output": ... }` or `{ "error": { "message", "reason"?, "retryable"? } }`. The token is the only
 * credential (see docs/task-types.md). Answers: 202 recorded; 400 bad body; 404 unknown token;
 * 403 token does not match the attempt; 409 already reported, or the attempt is over; 413 output too
 * large; 503 (Retry-After) the attempt is not ready for its report yet — retry.
 */
export function callbackRoutes(deps: Deps) {
  const app = new Hono();
  app.post('/callbacks/:token', async (c) => {
    let json: unknown;
    try {
      json = JSON.parse(await c.req.text());
    } catch (err) {
      throw new RequestError(400, 'bad_json', `the body is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = body.safeParse(json);
    if (!parsed.success || !('output' in (json as object) || 'error' in (json as object))) {
      throw new RequestError(
        400,
        'invalid_body',
        'the body must be {"output": ...} or {"error": {"message": "...", "reason"?: "...", "retryable"?: bool}}',
      );
    }
    const report = parsed.data as CallbackBody;
    if ('output' in report) {
      const size = Buffer.byteLength(JSON.stringify(report.output ?? null));
      if (size > deps.db.config.maxOutputBytes) {
        throw new RequestError(413, 'output_too_large', `output is ${size} bytes; the limit is ${deps.db.config.maxOutputBytes}`);
      }
    }
    const r = await completeByCallback(deps, c.req.param('token'), report);
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
  });
  return app;
}
