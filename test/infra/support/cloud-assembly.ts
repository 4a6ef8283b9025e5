import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Json } from './policy.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** An environment with no AWS credentials, profile, region or metadata service: synth must not need them. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CDK_DEFAULT_)/.test(k)));
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'baton-no-credentials'),
    AWS_CONFIG_FILE: join(tmpdir(), 'baton-no-config'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
  };
}

export interface CloudAssembly {
  readonly dir: string;
  readonly template: Json;
  readonly synthMs: number;
}

/**
 * Runs `cdk synth` exactly as a user or CI does (cdk.json, the app entry, offline) into a fresh
 * directory, with `-c key=value` for each entry of `context`.
 */
export async function synthWithCli(stackName = 'Baton', context: Record<string, string> = {}): Promise<CloudAssembly> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-cdk-out-'));
  const started = Date.now();
  const args = ['synth', '--quiet', '--no-notices', '--output', dir, ...Object.entries(context).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/cdk'), args, {
    cwd: ROOT,
    env: offlineEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  const synthMs = Date.now() - started;
  return { dir, template: JSON.parse(readFileSync(join(dir, `${stackName}.template.json`), 'utf8')), synthMs };
}

/** The logical id of one of Baton's functions (`BatonApi1234ABCD` for `api`, `BatonSfnEvents…` for `sfn-events`). */
export function functionId(template: Json, handler: string): string {
  const pascal = handler.replace(/(^|-)(\w)/g, (_, _dash: string, c: string) => c.toUpperCase());
  const re = new RegExp(`^Baton${pascal}[0-9A-F]{8}$`);
  const ids = Object.keys(template.Resources).filter((k) => re.test(k) && template.Resources[k].Type === 'AWS::Lambda::Function');
  if (ids.length !== 1) throw new Error(`expected one function for ${handler}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

export interface Bundle {
  /** The entry file, copied out of the project so nothing can resolve from its node_modules. */
  readonly file: string;
  readonly exportName: string;
  readonly environment: Record<string, Json>;
}

/** Finds a function's asset (by its S3 key) and entry (by its Handler), and copies the asset out of the project. */
export function bundleOf(assembly: CloudAssembly, logicalId: string): Bundle {
  const fn = assembly.template.Resources[logicalId].Properties;
  const hash = /^([0-9a-f]{64})\.zip$/.exec(fn.Code.S3Key)?.[1];
  if (!hash) throw new Error(`${logicalId} has no asset: ${JSON.stringify(fn.Code)}`);
  const [file, exportName] = (fn.Handler as string).split('.') as [string, string];
  const copy = mkdtempSync(join(tmpdir(), `baton-bundle-${logicalId}-`));
  cpSync(join(assembly.dir, `asset.${hash}`), copy, { recursive: true });
  const entry = ['.mjs', '.js'].map((ext) => join(copy, file + ext)).find(existsSync);
  if (!entry) throw new Error(`asset ${hash} has no ${file}.mjs or ${file}.js`);
  return { file: entry, exportName, environment: fn.Environment?.Variables ?? {} };
}
