import type { TestProject } from 'vitest/node';
import { startDynamoLocal } from '../../functions/local/dynamodb-local.js';

/** One DynamoDB Local (in memory) for the whole suite; each test file makes its own table. */
export default async function setup(project: TestProject) {
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    project.provide('dynamoEndpoint', process.env.AWS_ENDPOINT_URL_DYNAMODB);
    return;
  }
  const dynamo = await startDynamoLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}
