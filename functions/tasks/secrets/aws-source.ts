import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SecretSource } from './source.js';

/** Where a deployed worker reads secrets: which service, under which prefix, cached how long. */
export interface AwsSecretsOptions {
  readonly service: 'secretsmanager' | 'ssm';
  /** `${secrets.NAME}` is the secret (or parameter) named `<prefix>NAME`; the worker may read only these. */
  readonly prefix: string;
  /** Seconds a value is kept in Powertools' in-memory cache before it is read again. */
  readonly maxAgeSeconds: number;
  /** The Powertools provider (tests pass one over a client whose requests they check). */
  readonly provider?: SecretsProvider | SSMProvider;
}

const NOT_FOUND = new Set(['ResourceNotFoundException', 'ParameterNotFound']);

/**
 * Secrets Manager or SSM Parameter Store (SecureStrings are decrypted) through Powertools'
 * parameters utility, which caches each value for `maxAgeSeconds` across warm invocations.
 */
export function awsSecretSource(opts: AwsSecretsOptions): SecretSource {
  const provider = opts.provider ?? (opts.service === 'ssm' ? new SSMProvider() : new SecretsProvider());
  const label = opts.service === 'ssm' ? 'SSM parameter' : 'Secrets Manager secret';
  return {
    describe: (name) => `${label} ${opts.prefix}${name}`,
    async get(name) {
      const id = `${opts.prefix}${name}`;
      try {
        const value =
          provider instanceof SSMProvider
            ? await provider.get(id, { decrypt: true, maxAge: opts.maxAgeSeconds })
            : await provider.get(id, { maxAge: opts.maxAgeSeconds });
        if (value === undefined) return undefined;
        return typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('utf8');
      } catch (err) {
        const cause = (err as { cause?: { name?: string } }).cause;
        if (cause?.name && NOT_FOUND.has(cause.name)) return undefined;
        throw err;
      }
    },
  };
}
