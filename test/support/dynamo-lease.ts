import { afterAll, expect, inject } from 'vitest';

/**
 * Setup file of every test file: leases a DynamoDB Local instance from the suite's pool
 * (`dynamo-pool.ts`) and sets `AWS_ENDPOINT_URL_DYNAMODB` to it before the file's own code runs, so
 * that the file, and every process it starts, finds it where the SDK looks. Released after the
 * file's last hook. The pure tiers (`test/engine`, `test/schedule-pure`) use no DynamoDB and take no
 * lease, so that they do not count towards an instance's files.
 */
const PURE = ['/test/engine/', '/test/schedule-pure/'];
const file = expect.getState().testPath ?? '';
const broker = inject('dynamoPool');

// Files run one after another in a worker process (`isolate: false`, vitest.config.ts): what a file sets
// in the environment (its table, its limits) is put back after it, so the next file starts from the same one.
const before = { ...process.env };
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in before)) delete process.env[k];
  Object.assign(process.env, before);
});

if (broker && !PURE.some((dir) => file.includes(dir))) {
  const res = await fetch(`${broker}/lease`);
  if (!res.ok) throw new Error(`could not lease a DynamoDB Local for ${file}: ${res.status} ${await res.text()}`);
  const { id, endpoint } = (await res.json()) as { id: string; endpoint: string };
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  afterAll(async () => {
    // A release is idempotent (an unknown id is a no-op), so a failed one is simply sent again.
    for (let tries = 1; ; tries++) {
      try {
        await fetch(`${broker}/release?id=${encodeURIComponent(id)}`, { method: 'POST' }).then((r) => r.arrayBuffer());
        return;
      } catch (err) {
        if (tries >= 3) throw err;
        await new Promise((r) => setTimeout(r, 100 * tries));
      }
    }
  });
}
