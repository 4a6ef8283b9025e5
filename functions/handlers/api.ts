import { handle } from 'hono/aws-lambda';
import { createApp } from '../api/app.js';
import { awsDeps } from './aws.js';

/** API Gateway HTTP API → the Hono app. */
export const handler = handle(createApp(awsDeps()));
