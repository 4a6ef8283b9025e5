import type { TestProject } from 'vitest/node';
import { DynamoPool } from './dynamo-pool.js';

/**
 * DynamoDB Local for the suite: a pool of in-memory instances (`dynamo-pool.ts`), a new one every
 * `BATON_TEST_FILES_PER_DYNAMO` test files (default 8); each test file leases one (`dynamo-lease.ts`)
 * and makes its own tables in it. With `AWS_ENDPOINT_URL_DYNAMODB` set, every file uses that endpoint
 * instead and no instance is started. `BATON_TEST_POOL_VERBOSE=1` prints each instance's start and stop.
 */
export default async function setup(project: TestProject) {
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    project.provide('dynamoPool', '');
    return;
  }
  const raw = process.env.BATON_TEST_FILES_PER_DYNAMO ?? '8';
  const files = Number(raw);
  if (!Number.isInteger(files) || files < 1) throw new Error(`BATON_TEST_FILES_PER_DYNAMO must be a positive integer, got "${raw}"`);
  const verbose = process.env.BATON_TEST_POOL_VERBOSE === '1';
  // An instance lives for a few test files: the JIT's top tier and a parallel GC cost more CPU than
  // they give back in that time (rest tier at 8 files per instance: 358 s with the JVM's defaults,
  // 331 s with these, 2026-12-04). BATON_TEST_DYNAMO_JAVA_OPTIONS replaces them ('' for the defaults).
  const javaOptions = process.env.BATON_TEST_DYNAMO_JAVA_OPTIONS ?? '-XX:+UseSerialGC -XX:TieredStopAtLevel=1';
  const pool = new DynamoPool(files, verbose ? (line) => console.log(`[dynamo pool] ${line}`) : undefined, javaOptions || undefined);
  project.provide('dynamoPool', await pool.start());
  // Interrupted (Ctrl-C) before the teardown: leave no JVM behind.
  const kill = () => pool.kill();
  process.once('exit', kill);
  return async () => {
    process.off('exit', kill);
    await pool.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The DynamoDB pool's broker URL; '' when `AWS_ENDPOINT_URL_DYNAMODB` names the endpoint. */
    dynamoPool: string;
  }
}
