import { Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The worker's permissions on what `lambda` and `stepfunctions` tasks call
 * (`functions/tasks/lambda.ts`, `functions/tasks/stepfunctions.ts`): the user's own functions and
 * state machines, named by ARN in the `Baton` props `taskFunctions` and `taskStateMachines`.
 */
export interface TaskTargets {
  readonly functions?: readonly string[];
  readonly stateMachines?: readonly string[];
}

export interface TaskAccess {
  readonly statements: iam.PolicyStatement[];
  /** Resources with a `*` this module added (qualifiers, executions), for the cdk-nag acknowledgement. */
  readonly derivedWildcards: string[];
}

const FUNCTION_ARN = /^arn:([^:]+):lambda:([^:]+):([^:]+):function:([^:]+)(?::([^:]+))?$/;
const STATE_MACHINE_ARN = /^arn:([^:]+):states:([^:]+):([^:]+):stateMachine:([^:]+)(?::([^:]+))?$/;

/**
 * - A function ARN allows `lambda:InvokeFunction` on it; an unqualified one also on its versions and
 *   aliases (`…:function:name:*`, what a task's `qualifier` invokes), a qualified one only on itself.
 * - A state machine ARN allows `states:StartExecution` on the state machine, and
 *   `states:DescribeExecution` and `states:StopExecution` on its executions
 *   (`…:execution:name:*`, the ARNs the task type reads and stops). Step Functions authorizes a
 *   version or an alias against the unqualified state machine ARN, so a qualified entry grants the
 *   state machine with a `states:StateMachineQualifier` condition naming that version or alias.
 *
 * Literal ARNs are checked here (a `*` in a name is kept as written). A CDK token (such as
 * `fn.functionArn` or `stateMachine.stateMachineArn`) is taken as an unqualified ARN.
 */
export function taskTargetAccess(scope: IConstruct, targets: TaskTargets): TaskAccess {
  const statements: iam.PolicyStatement[] = [];
  const derivedWildcards: string[] = [];
  const unique = <T>(xs: T[]) => [...new Set(xs)];

  const invoke: string[] = [];
  for (const arn of targets.functions ?? []) {
    if (!Token.isUnresolved(arn)) {
      const m = FUNCTION_ARN.exec(arn);
      if (!m) {
        throw new Error(
          `taskFunctions: ${JSON.stringify(arn)} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>])`,
        );
      }
      if (m[5] !== undefined) {
        invoke.push(arn);
        continue;
      }
    }
    invoke.push(arn, `${arn}:*`);
    derivedWildcards.push(`${arn}:*`);
  }
  if (invoke.length > 0) {
    statements.push(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: unique(invoke) }));
  }

  const start: string[] = [];
  const qualified = new Map<string, string[]>();
  const executions: string[] = [];
  for (const arn of targets.stateMachines ?? []) {
    let machine = arn;
    let executionsOf: string;
    if (Token.isUnresolved(arn)) {
      const c = Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME);
      executionsOf = Arn.format(
        { ...c, resource: 'execution', resourceName: `${c.resourceName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
        Stack.of(scope),
      );
    } else {
      const m = STATE_MACHINE_ARN.exec(arn);
      if (!m) {
        throw new Error(
          `taskStateMachines: ${JSON.stringify(arn)} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>[:<version or alias>])`,
        );
      }
      const [, partition, region, account, name, qualifier] = m;
      machine = `arn:${partition}:states:${region}:${account}:stateMachine:${name}`;
      executionsOf = `arn:${partition}:states:${region}:${account}:execution:${name}:*`;
      if (qualifier !== undefined) {
        qualified.set(machine, [...(qualified.get(machine) ?? []), qualifier]);
        machine = '';
      }
    }
    if (machine) start.push(machine);
    executions.push(executionsOf);
  }
  if (start.length > 0) {
    statements.push(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: unique(start) }));
  }
  for (const [machine, qualifiers] of qualified) {
    if (start.includes(machine)) continue; // the whole state machine is granted already
    statements.push(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [machine],
        conditions: { StringEquals: { 'states:StateMachineQualifier': unique(qualifiers) } },
      }),
    );
  }
  if (executions.length > 0) {
    statements.push(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: unique(executions) }),
    );
    derivedWildcards.push(...unique(executions));
  }
  return { statements, derivedWildcards: unique(derivedWildcards) };
}

/**
 * How cdk-nag names a policy resource in a finding id (`AwsSolutions-IAM5[Resource::<this>]`): the
 * resolved value with `Fn::Join` concatenated, `Ref` as `<Id>` and `Fn::GetAtt` as `<Id.Attr>`
 * (cdk-nag's `flattenCfnReference`), so that an acknowledgement matches the finding exactly.
 */
export function nagResourceName(scope: IConstruct, resource: string): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const n = node as Record<string, any>;
    if (n['Fn::Join']) return (n['Fn::Join'][1] as unknown[]).map(visit).join(n['Fn::Join'][0]);
    if (n['Fn::Sub']) return visit(n['Fn::Sub']);
    if (n['Fn::GetAtt']) return `<${visit(n['Fn::GetAtt'][0])}.${visit(n['Fn::GetAtt'][1])}>`;
    if (n['Fn::ImportValue']) return visit(n['Fn::ImportValue']);
    if (n.Ref) return `<${visit(n.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(resource));
}
