import type { Job } from '../orchestrator/deps.js';
import { runAttempt } from '../orchestrator/worker.js';
import { awsDeps } from './aws.js';

/** Asynchronous invocation → one task attempt. */
export const handler = (job: Job) => runAttempt(awsDeps(), job);
