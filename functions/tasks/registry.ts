import { dependent } from './dependent.js';
import type { Executor } from './executor.js';
import { fail } from './fail.js';
import { http } from './http.js';
import { lambda } from './lambda.js';
import { noop } from './noop.js';
import { stepfunctions } from './stepfunctions.js';
import { subworkflow } from './subworkflow.js';
import { wait } from './wait.js';

/** Every task type Baton knows, by its `type` name. */
export const executors: Readonly<Record<string, Executor<any>>> = Object.fromEntries(
  [noop, fail, wait, http, subworkflow, lambda, stepfunctions, dependent].map((e) => [e.type, e]),
);
