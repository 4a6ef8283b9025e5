import { awsSecretSource } from './aws-source.js';
import { localSecretSource } from './local-source.js';
import type { SecretSource } from './source.js';

/**
 * The secret source this process uses, from the environment:
 * - `BATON_SECRETS`: `local` (default outside Lambda), `secretsmanager` (default in Lambda) or `ssm`;
 * - `BATON_SECRETS_PREFIX`: name prefix in AWS (default `baton/`, or `/baton/` for `ssm`);
 * - `BATON_SECRETS_MAX_AGE`: seconds a value is cached in AWS (default 60);
 * - `BATON_SECRETS_FILE` (default `.baton/secrets.json`) and `BATON_SECRETS_ENV_PREFIX`
 *   (default `BATON_SECRET_`) for `local`.
 *
 * @throws Error naming the variable for a value it cannot use.
 */
export function secretSourceFromEnv(env: NodeJS.ProcessEnv = process.env): SecretSource {
  const kind = env.BATON_SECRETS || (env.AWS_LAMBDA_FUNCTION_NAME ? 'secretsmanager' : 'local');
  if (kind === 'local') {
    return localSecretSource({
      file: env.BATON_SECRETS_FILE || '.baton/secrets.json',
      envPrefix: env.BATON_SECRETS_ENV_PREFIX ?? 'BATON_SECRET_',
      env,
    });
  }
  if (kind !== 'secretsmanager' && kind !== 'ssm') {
    throw new Error(`BATON_SECRETS must be local, secretsmanager or ssm, got ${JSON.stringify(kind)}`);
  }
  const maxAge = Number(env.BATON_SECRETS_MAX_AGE ?? 60);
  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new Error(`BATON_SECRETS_MAX_AGE must be an integer >= 0, got ${JSON.stringify(env.BATON_SECRETS_MAX_AGE)}`);
  }
  const prefix = env.BATON_SECRETS_PREFIX ?? (kind === 'ssm' ? '/baton/' : 'baton/');
  return awsSecretSource({ service: kind, prefix, maxAgeSeconds: maxAge });
}

/** The variables `secretSourceFromEnv` reads to choose and configure the source. */
const SOURCE_ENV = [
  'BATON_SECRETS',
  'BATON_SECRETS_PREFIX',
  'BATON_SECRETS_MAX_AGE',
  'BATON_SECRETS_FILE',
  'BATON_SECRETS_ENV_PREFIX',
  'AWS_LAMBDA_FUNCTION_NAME',
];

let shared: { key: string; source: SecretSource } | undefined;

/**
 * This process's secret source, built on first use and kept while the variables it was built from
 * (`SOURCE_ENV`) stay the same, so that its cache lives as long as the process.
 */
export function defaultSecretSource(): SecretSource {
  const key = JSON.stringify(SOURCE_ENV.map((v) => process.env[v]));
  if (shared?.key !== key) shared = { key, source: secretSourceFromEnv() };
  return shared.source;
}
