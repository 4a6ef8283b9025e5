/**
 * Where `${secrets.NAME}` values come from. The worker asks a `SecretSource` for each name a task uses,
 * right before the attempt runs; nothing else in Baton ever holds a value.
 */

/** A store of secret values by name. `undefined` means the store has no such secret. */
export interface SecretSource {
  /** Where a name is looked up, for messages (never a value): e.g. `Secrets Manager baton/API_KEY`. */
  describe(name: string): string;
  get(name: string): Promise<string | undefined>;
}

/** A task names a secret its source does not have: the attempt fails, not retryable. */
export class SecretMissingError extends Error {
  override readonly name = 'SecretMissingError';
  readonly secret: string;
  constructor(secret: string, where: string) {
    super(`secret "${secret}" is not defined (looked up as ${where})`);
    this.secret = secret;
  }
}
