#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { BatonStack } from './baton-stack.js';

/** A list from `-c key=a,b` (or a JSON array, from cdk.json). */
function listContext(app: App, key: string): string[] | undefined {
  const v: unknown = app.node.tryGetContext(key);
  if (v === undefined || v === '') return undefined;
  const list = Array.isArray(v) ? v : String(v).trim().startsWith('[') ? JSON.parse(String(v)) : String(v).split(',');
  return (list as unknown[]).map((x) => String(x).trim()).filter(Boolean);
}

// Environment-agnostic: synthesizes offline; `cdk deploy` targets the account and region of your credentials.
const app = new App();
new BatonStack(app, app.node.tryGetContext('stackName') ?? 'Baton', {
  alarmEmail: app.node.tryGetContext('alarmEmail'),
  baton: {
    taskFunctions: listContext(app, 'taskFunctions'),
    taskStateMachines: listContext(app, 'taskStateMachines'),
    // The web console (CloudFront + Cognito + its own JWT API) is deployed unless `-c console=false`.
    console: String(app.node.tryGetContext('console')) !== 'false',
  },
});
