#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { BatonStack } from './baton-stack.js';

// Environment-agnostic: synthesizes offline; `cdk deploy` targets the account and region of your credentials.
const app = new App();
new BatonStack(app, app.node.tryGetContext('stackName') ?? 'Baton', { alarmEmail: app.node.tryGetContext('alarmEmail') });
