import { sweep } from '../orchestrator/sweeper.js';
import { awsDeps } from './aws.js';

/** EventBridge schedule (or a direct invoke, on demand) → one sweep. Returns what it did. */
export const handler = () => sweep(awsDeps());
