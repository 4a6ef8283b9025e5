/**
 * AWS list prices, us-east-1, looked up 2026-11-28 (the bench machine's date) through a search of
 * stored copies of public pages, not the live price pages: check them against the sources before
 * quoting a figure.
 */

/** DynamoDB on-demand, Standard table class, per write request unit (after the Nov 2024 cut). https://aws.amazon.com/dynamodb/pricing/on-demand/ */
export const DDB_WRU_USD = 0.625 / 1e6;
/** DynamoDB on-demand, per read request unit (strongly consistent read of up to 4 KB = 1 RRU). Same source. */
export const DDB_RRU_USD = 0.125 / 1e6;
/** Lambda requests, any architecture. https://aws.amazon.com/lambda/pricing/ */
export const LAMBDA_REQUEST_USD = 0.2 / 1e6;
/** Lambda duration on Arm (Graviton), first pricing tier, per GB-second. Same source. */
export const LAMBDA_ARM_GB_S_USD = 0.0000133334;
/** Step Functions Standard workflows, per state transition. https://aws.amazon.com/step-functions/pricing/ */
export const SFN_STANDARD_TRANSITION_USD = 25 / 1e6;
/** DynamoDB Streams reads made by a Lambda event source mapping are free (DynamoDB pricing page, "DynamoDB Streams"). */
export const STREAM_READS_FOR_LAMBDA_USD = 0;

/**
 * Assumptions, not prices: the functions' memory is what infra/handlers.ts gives the master and the
 * worker (512 MB, Arm); the billed duration per invocation is a guess. A noop worker makes 3
 * sequential DynamoDB requests (read run, claim, record outcome) and a master invocation 2–3 (read
 * run, then create or promote successors); at a few ms per request in-region plus handler overhead,
 * 40 ms is a round, deliberately generous figure. Change these to your own.
 */
export const LAMBDA_MEMORY_MB = 512;
export const WORKER_BILLED_MS = 40;
export const MASTER_BILLED_MS = 40;

export const PRICES_LOOKED_UP = '2026-11-28';

export interface CostInput {
  wcuPerTask: number;
  rcuPerTask: number;
  workerInvokesPerTask: number;
  /** Upper bound: one master invocation per relevant stream record (batch size 1). */
  masterInvokesPerTask: number;
}

export interface Cost {
  dynamodb: number;
  lambdaRequests: number;
  lambdaDuration: number;
  total: number;
  stepFunctionsStandard: number;
}

/** Dollars per million tasks. */
export function costPerMillion(c: CostInput): Cost {
  const M = 1e6;
  const dynamodb = M * (c.wcuPerTask * DDB_WRU_USD + c.rcuPerTask * DDB_RRU_USD);
  const invokes = c.workerInvokesPerTask + c.masterInvokesPerTask;
  const lambdaRequests = M * invokes * LAMBDA_REQUEST_USD;
  const gbs = (LAMBDA_MEMORY_MB / 1024) * ((c.workerInvokesPerTask * WORKER_BILLED_MS + c.masterInvokesPerTask * MASTER_BILLED_MS) / 1000);
  const lambdaDuration = M * gbs * LAMBDA_ARM_GB_S_USD;
  return {
    dynamodb,
    lambdaRequests,
    lambdaDuration,
    total: dynamodb + lambdaRequests + lambdaDuration,
    // A Standard state machine with one Task state per task makes at least one transition per task.
    stepFunctionsStandard: M * SFN_STANDARD_TRANSITION_USD,
  };
}
