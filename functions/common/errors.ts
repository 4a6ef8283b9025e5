/** Every error Baton raises on purpose is a BatonError; `code` is stable and machine-readable. */
export class BatonError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatonError';
    this.code = code;
  }
}

/** A problem with the caller's request: maps to an HTTP 4xx and is never retried. */
export class RequestError extends BatonError {
  readonly statusCode: number;
  readonly details: readonly unknown[];
  constructor(statusCode: number, code: string, message: string, details: readonly unknown[] = []) {
    super(code, message);
    this.name = 'RequestError';
    this.statusCode = statusCode;
    this.details = details;
  }

  toJSON() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/**
 * A conditional write lost its race more times than its named bound allows. Nothing is wrong with the
 * request: the API answers 503 with Retry-After, and the caller tries again.
 */
export class ContentionError extends BatonError {
  constructor(
    message: string,
    readonly bound: string,
    readonly attempts: number,
  ) {
    super('contention', message);
    this.name = 'ContentionError';
  }
}

export const notFound = (what: string) => new RequestError(404, 'not_found', `${what} not found`);

/** Normalises whatever was thrown into an Error. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
