import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { BatonStack, type BatonStackProps } from '../../../infra/baton-stack.js';
import type { HandlerName } from '../../../infra/handlers.js';
import { functionStatements, type Json, type Statement } from './policy.js';

export interface Synthesized {
  readonly app: App;
  readonly stack: BatonStack;
  readonly template: Template;
  readonly json: Json;
  /** Logical id of a Baton resource. */
  id(construct: { node: { defaultChild?: unknown } } | object): string;
  fnId(name: HandlerName): string;
  /** Logical id of Baton's own HTTP API (the stack has a second one, the console's, by default). */
  readonly apiId: string;
  statements(name: HandlerName): Statement[];
}

/**
 * The stack, synthesized in-process with asset bundling skipped (the template is the same; only
 * the asset hashes are placeholders). The bundle test synthesizes for real, through the CLI.
 */
export function synth(props: BatonStackProps = {}): Synthesized {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new BatonStack(app, 'Baton', props);
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const id = (c: Json) => Stack.of(c).getLogicalId(c.node?.defaultChild ?? c);
  const fnId = (name: HandlerName) => id(stack.baton.functions[name].node.defaultChild as CfnFunction);
  const apiId = id(stack.baton.httpApi.api);
  return { app, stack, template, json, id, fnId, apiId, statements: (name) => functionStatements(json, fnId(name)) };
}
