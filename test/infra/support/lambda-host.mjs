// Runs one synthesized Lambda bundle the way the Node.js runtime does: the module is imported once
// (the cold start), then events arrive one at a time and each gets the handler's result or error.
// Plain JavaScript, started with no loader, so the bundle runs exactly as it was built.
import { pathToFileURL } from 'node:url';

const [file, exportName] = process.argv.slice(2);
const mod = await import(pathToFileURL(file).href);
const handler = mod[exportName];
if (typeof handler !== 'function') throw new Error(`${file} does not export a function ${exportName}`);

const context = (id) => ({
  awsRequestId: id,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
});

process.on('message', async ({ id, event }) => {
  try {
    const result = await handler(event, context(id));
    process.send({ id, ok: true, result: result ?? null });
  } catch (err) {
    process.send({ id, ok: false, error: { name: err?.name, message: String(err?.message ?? err), stack: err?.stack } });
  }
});
process.send({ ready: true });
