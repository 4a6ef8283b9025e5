import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/**
 * The EventBridge bus that run and task events go to (docs/events.md): the one given, or a new one.
 * Only the master emits events (from the stream record of each transition), so only it may put them,
 * and only on this bus; it learns the bus from `BATON_EVENT_BUS`.
 */
export function configureEventBus(scope: Construct, master: lambda.Function, given?: events.IEventBus): events.IEventBus {
  const bus = given ?? new events.EventBus(scope, 'Events', { description: 'Baton run and task events (source "baton")' });
  bus.grantPutEventsTo(master);
  master.addEnvironment('BATON_EVENT_BUS', bus.eventBusName);
  return bus;
}
