import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  LambdaMapError,
  type LocalFunction,
  type LocalFunctions,
  type LocalHandler,
  type LocalLambdaContext,
} from '../tasks/local-function.js';

/**
 * Local stand-ins for Lambda functions. `BATON_LAMBDA_MAP` names a JSON file that maps function
 * names to modules: `{ "resize-image": "./lambdas/resize.mjs#handler" }` (paths relative to the
 * file; no `#export` means the default export). A `lambda` task whose function is mapped calls the
 * module in-process instead of AWS, with the same event it would send to AWS and a context object
 * shaped like Lambda's. See docs/task-types.md.
 */

const mapSchema = z.record(z.string().min(1), z.string().min(1));

interface LoadedMap {
  readonly file: string;
  readonly entries: Readonly<Record<string, string>>;
}

let cache: { file: string; map: Promise<LoadedMap> } | undefined;

/** The map named by `BATON_LAMBDA_MAP` (read once per file), or undefined when none is set. */
function currentMap(env: NodeJS.ProcessEnv): Promise<LoadedMap> | undefined {
  const raw = env.BATON_LAMBDA_MAP;
  if (!raw) return undefined;
  const file = resolve(raw);
  if (cache?.file !== file) cache = { file, map: loadMap(file) };
  return cache.map;
}

async function loadMap(file: string): Promise<LoadedMap> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LambdaMapError(`BATON_LAMBDA_MAP: cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LambdaMapError(`BATON_LAMBDA_MAP: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = mapSchema.safeParse(json);
  if (!parsed.success) {
    throw new LambdaMapError(`BATON_LAMBDA_MAP: ${file} must be an object of "functionName": "./module.mjs#export" strings`);
  }
  return { file, entries: parsed.data };
}

/** The bare function name of a name, partial ARN or ARN (`arn:aws:lambda:r:a:function:name:qual` → `name`). */
export function functionNameOf(fn: string): string {
  const m = /^(?:arn:[^:]+:lambda:[^:]+:)?(?:\d{12}:)?(?:function:)?([A-Za-z0-9_.-]+)(?::[^:]+)?$/.exec(fn);
  return m?.[1] ?? fn;
}

/**
 * The local module for `fn` (with `qualifier`), or undefined when no map is set or it does not
 * mention the function. Keys are tried most specific first: `fn:qualifier`, `fn`, then the bare name.
 * Throws LambdaMapError when the map or the module it names is broken.
 */
export async function resolveLocalFunction(
  fn: string,
  qualifier?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalFunction | undefined> {
  const pending = currentMap(env);
  if (!pending) return undefined;
  const map = await pending;
  const name = functionNameOf(fn);
  const candidates = [qualifier ? `${fn}:${qualifier}` : undefined, fn, qualifier ? `${name}:${qualifier}` : undefined, name];
  const key = candidates.find((k): k is string => k !== undefined && Object.hasOwn(map.entries, k));
  if (key === undefined) return undefined;
  const target = map.entries[key] as string;
  const hash = target.lastIndexOf('#');
  const modulePath = hash >= 0 ? target.slice(0, hash) : target;
  const exportName = hash >= 0 ? target.slice(hash + 1) : 'default';
  const abs = isAbsolute(modulePath) ? modulePath : resolve(dirname(map.file), modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    throw new LambdaMapError(`BATON_LAMBDA_MAP: cannot load ${abs} for function ${key}: ${(err as Error).message}`);
  }
  const handler = mod[exportName];
  if (typeof handler !== 'function') {
    throw new LambdaMapError(`BATON_LAMBDA_MAP: ${abs} has no exported function "${exportName}" (function ${key})`);
  }
  return { key, target, handler: handler as LocalHandler };
}

/** A context object like the one Lambda hands a handler; `deadline` (epoch ms) drives the remaining time. */
export function localContext(fn: string, qualifier: string | undefined, requestId: string, deadline: number): LocalLambdaContext {
  const name = functionNameOf(fn);
  return {
    functionName: name,
    functionVersion: qualifier ?? '$LATEST',
    invokedFunctionArn: fn,
    awsRequestId: requestId,
    memoryLimitInMB: '128',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * The local runtime's stand-ins, as executors see them: the file named by `BATON_LAMBDA_MAP` in
 * `env`, looked up on each call (so a test or an operator can point it elsewhere without a restart).
 */
export const lambdaMapFunctions = (env: NodeJS.ProcessEnv = process.env): LocalFunctions => ({
  resolve: (fn, qualifier) => resolveLocalFunction(fn, qualifier, env),
  context: localContext,
});
