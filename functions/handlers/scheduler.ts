import { schedulerTick } from '../orchestrator/scheduler.js';
import { awsDeps } from './aws.js';

/**
 * EventBridge schedule (every minute) → one scheduler tick: fires the schedules due now, hands the
 * fire times of the coming minute to the timer queue. Returns what it did. Safe to deliver twice.
 */
export const handler = () => schedulerTick(awsDeps());
