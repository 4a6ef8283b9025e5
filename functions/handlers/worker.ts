import type { Context } from 'aws-lambda';
import type { Job } from '../orchestrator/deps.js';
import { runAttempt } from '../orchestrator/worker.js';
import { defaultEgress } from '../tasks/egress/dispatcher.js';
import { defaultSecretSource } from '../tasks/secrets/from-env.js';
import { awsDeps } from './aws.js';

// A bad BATON_HTTP_* or BATON_SECRETS* setting fails the cold start, not every task after it.
defaultEgress();
defaultSecretSource();

/** Asynchronous invocation → one task attempt (and, with time left, the successors it queues: eager dispatch). */
export const handler = (job: Job, context?: Pick<Context, 'getRemainingTimeInMillis'>) =>
  runAttempt(awsDeps(), job, context && (() => context.getRemainingTimeInMillis()));
