import { z } from 'zod';
import { templated } from '../../functions/tasks/executor.js';

/** A tiny stand-in for the task registry: schemas shaped like the real executors'. */
export const executors = {
  http: {
    schema: z.strictObject({
      method: templated(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])).optional(),
      url: templated(z.url()),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
    }),
  },
  wait: { schema: z.strictObject({ duration: z.union([z.string(), z.number()]) }) },
  noop: { schema: z.strictObject({ output: z.unknown().optional() }) },
  fail: { schema: z.strictObject({ message: z.string().optional() }) },
} satisfies Record<string, { schema: z.ZodType }>;

export const EXAMPLE_YAML = `
name: nightly-report
description: Pull yesterday's orders, wait for the export, summarize
params:
  day: { type: string, required: true }
  limit: { type: integer, default: 10 }
failureStrategy: end            # or: continue; default end
tasks:
  extract:
    type: http
    method: POST
    url: https://example.com/export
    headers: { x-team: data }
    body: { day: "\${params.day}" }
    retry: { attempts: 3, delay: 10s, backoff: exponential, maxDelay: 5m }
    timeout: 2m
  settle:
    type: wait
    duration: 30s
    after: [extract]
  summarize:
    type: noop
    after: [settle]
    output: { rows: "\${tasks.extract.output.rows}" }
`;
