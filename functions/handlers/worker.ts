import type { Job } from '../orchestrator/deps.js';
import { runAttempt } from '../orchestrator/worker.js';
import { defaultEgress } from '../tasks/egress/dispatcher.js';
import { defaultSecretSource } from '../tasks/secrets/from-env.js';
import { awsDeps } from './aws.js';

// A bad BATON_HTTP_* or BATON_SECRETS* setting fails the cold start, not every task after it.
defaultEgress();
defaultSecretSource();

/** Asynchronous invocation → one task attempt. */
export const handler = (job: Job) => runAttempt(awsDeps(), job);
