import { BatonError } from '../common/errors.js';

/** Why DynamoDB refused data: too large for one item, or a shape it cannot hold (nesting, empty values, odd keys). */
export type UnstorableKind = 'too_large' | 'unstorable';

/**
 * A write DynamoDB refused for the data's sake: retrying it can never succeed. Terminal: the caller
 * fails the task or run that owns the data, with a reason naming the cause, instead of retrying.
 * `detail` is DynamoDB's own explanation, trimmed of the request's placeholder names.
 */
export class UnstorableError extends BatonError {
  readonly kind: UnstorableKind;
  readonly detail: string;
  constructor(kind: UnstorableKind, detail: string, cause: unknown) {
    super(`data_${kind}`, `DynamoDB refused the data: ${detail}`, { cause });
    this.name = 'UnstorableError';
    this.kind = kind;
    this.detail = detail;
  }
}

// DynamoDB's (and DynamoDB Local's) wording for refusals that depend only on the data written.
const TOO_LARGE = /item size( to update)? has exceeded|exceeds? the maximum (allowed )?(item )?size/i;
const BAD_SHAPE = /nesting levels|attributevalue is empty|empty attribute name|may not contain an empty|empty string value/i;

/** The error to throw for a failed write: an UnstorableError when the data itself was refused, else `err` as is. */
export function classifyWriteError(err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== 'ValidationException') return err;
  const detail = err.message.replace(/^ExpressionAttributeValues contains invalid value: /, '').replace(/ for key :\w+$/, '');
  if (TOO_LARGE.test(err.message)) return new UnstorableError('too_large', detail, err);
  if (BAD_SHAPE.test(err.message)) return new UnstorableError('unstorable', detail, err);
  return err;
}
