import { describe } from 'vitest';
import { layoutSuite } from './layout.js';
import { operationsSuite } from './operations.js';
import { runPageSuite } from './run-page.js';
import { schedulesSuite } from './schedules.js';
import { SLOW, useConsole } from './setup.js';
import { signInSuite } from './sign-in.js';

// The console in headless Chromium against a LocalRuntime over DynamoDB Local, served as `npm start`
// serves it. One file, so that every suite shares one runtime, server and browser (starting them is
// most of the tier's time); the suites are modules next to this file. Later suites use workflows and
// runs the earlier ones made (the 360 px pass opens pages of each).
describe('console in a real browser', { timeout: 2 * SLOW }, () => {
  const c = useConsole();
  describe('run page', () => runPageSuite(c));
  describe('operations', () => operationsSuite(c));
  describe('schedules and backfills', () => schedulesSuite(c));
  describe('layout and forms', () => layoutSuite(c));
  describe('sign-in, as deployed', () => signInSuite(c));
});
