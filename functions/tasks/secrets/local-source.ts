import { readFile } from 'node:fs/promises';
import type { SecretSource } from './source.js';

/** Where `npm start` reads secrets. */
export interface LocalSecretsOptions {
  /** A JSON object of name → string value. A missing file holds no secrets. */
  readonly file: string;
  /** `${secrets.NAME}` is also the environment variable `<envPrefix>NAME`, which wins over the file. */
  readonly envPrefix: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Secrets for the local runtime: the environment (`BATON_SECRET_NAME` by default) first, then
 * `.baton/secrets.json`. The file is read on each lookup, so editing it needs no restart.
 */
export function localSecretSource(opts: LocalSecretsOptions): SecretSource {
  const env = opts.env ?? process.env;
  return {
    describe: (name) => `environment variable ${opts.envPrefix}${name} or key "${name}" of ${opts.file}`,
    async get(name) {
      const fromEnv = env[`${opts.envPrefix}${name}`];
      if (fromEnv !== undefined) return fromEnv;
      let text: string;
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      let all: unknown;
      try {
        all = JSON.parse(text);
      } catch {
        // Never quote the file: it holds secrets.
        throw new Error(`${opts.file} is not valid JSON`);
      }
      if (all === null || typeof all !== 'object' || Array.isArray(all)) throw new Error(`${opts.file} must hold a JSON object`);
      const value = Object.hasOwn(all, name) ? (all as Record<string, unknown>)[name] : undefined;
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw new Error(`${opts.file}: secret "${name}" must be a string`);
      return value;
    },
  };
}
