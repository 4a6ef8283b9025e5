import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { Baton } from '../../infra/baton.js';
import { HANDLERS, type HandlerName } from '../../infra/handlers.js';
import { actionsOf } from './support/policy.js';
import { synth } from './support/stack.js';

const names = Object.keys(HANDLERS) as HandlerName[];

describe('the events bus of the Baton construct', () => {
  const s = synth();
  const env = (n: HandlerName) => s.json.Resources[s.fnId(n)].Properties.Environment.Variables;

  it('creates a bus, and only the master may put events, only on it; the master is told its name', () => {
    s.template.resourceCountIs('AWS::Events::EventBus', 1);
    const [busId] = Object.entries(s.json.Resources).find(([, r]: [string, any]) => r.Type === 'AWS::Events::EventBus') as [
      string,
      unknown,
    ];
    const puts = s.statements('master').filter((st: any) => [st.Action].flat().includes('events:PutEvents'));
    expect(puts).toHaveLength(1);
    expect(puts[0]?.Resource).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    expect(env('master').BATON_EVENT_BUS).toEqual({ Ref: busId });
    for (const n of names.filter((x) => x !== 'master')) {
      expect(actionsOf(s.statements(n))).not.toContain('events:PutEvents');
      expect(env(n)?.BATON_EVENT_BUS).toBeUndefined();
    }
  });

  it('takes a bus given as a prop instead of creating one', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Given');
    const bus = events.EventBus.fromEventBusName(stack, 'Shared', 'team-bus');
    const baton = new Baton(stack, 'Baton', { eventBus: bus, alarms: false });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Events::EventBus', 0);
    expect(baton.eventBus).toBe(bus);
    const master = t.toJSON().Resources[stack.getLogicalId(baton.functions.master.node.defaultChild as any)];
    expect(master.Properties.Environment.Variables.BATON_EVENT_BUS).toBe('team-bus');
  });
});
