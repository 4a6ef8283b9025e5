import { App, Fn, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { BatonProps } from '../../infra/baton.js';
import { BatonStack } from '../../infra/baton-stack.js';
import { HANDLERS } from '../../infra/handlers.js';

/**
 * cdk-nag 3 is a policy-validation plugin (`Validations.of(app).addPlugins(...)`), no longer an
 * aspect: `Aspects.of(app).add(new AwsSolutionsChecks())`, the v2 way, fails in synth with
 * "aspect.visit is not a function". Every finding is fixed or acknowledged with a reason in `infra/`.
 */
function app(baton: BatonProps = {}): App {
  const a = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  // The alarm topic is optional; build it so that its rules run too.
  new BatonStack(a, 'Baton', { alarmEmail: 'ops@example.com', baton });
  return a;
}

const violations = (a: App) => {
  const report = new AwsSolutionsChecks(a).validateScope(a);
  return report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
};

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing that is not fixed or acknowledged with a reason', () => {
    const a = app();
    const report = new AwsSolutionsChecks(a).validateScope(a);
    expect(violations(a)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('finds nothing either with task targets: only the wildcards Baton derives are acknowledged', () => {
    const fn = 'arn:aws:lambda:eu-west-1:123456789012:function:resize';
    const machines = ['arn:aws:states:eu-west-1:123456789012:stateMachine:payments', Fn.importValue('machine-arn')];
    expect(violations(app({ taskFunctions: [fn, Fn.importValue('fn-arn')], taskStateMachines: machines }))).toEqual([]);
    // A wildcard the caller wrote is the caller's to acknowledge.
    expect(violations(app({ taskFunctions: ['arn:aws:lambda:eu-west-1:123456789012:function:etl-*'] }))).toEqual([
      'AwsSolutions-IAM5[Resource::arn:aws:lambda:eu-west-1:123456789012:function:etl-*]: Baton/Baton/WorkerRole/DefaultPolicy/Resource',
    ]);
  });

  it('each acknowledgement carries a reason', () => {
    const a = app();
    // Stored as { '<kind>::<rule id>': reason } entries in construct metadata.
    const acks = a.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acks.map(([id]) => id.slice(id.indexOf('::') + 2)).sort()).toEqual(
      [
        // The callback route, which has no authorizer by design.
        'AwsSolutions-APIG4',
        // X-Ray on every function's role, and the stream consumer's ListStreams.
        ...Array(Object.keys(HANDLERS).length + 1).fill('AwsSolutions-IAM5[Resource::*]'),
        // Secrets under the configured prefix (names known at run time).
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:baton/*]',
        'AwsSolutions-SNS2',
        'AwsSolutions-SQS3',
        'AwsSolutions-SQS3',
        // The web console (infra/console.ts): CloudFront without a WAF, geo restriction, access logs or a
        // custom certificate; Cognito's paid plans; its static-files bucket without access logs.
        ...['CFR1', 'CFR2', 'CFR3', 'CFR4', 'COG2', 'COG3', 'COG8', 'S1'].map((r) => `AwsSolutions-${r}`),
        // CDK's bucket-deployment function (a singleton aws-cdk-lib defines): its managed role, runtime,
        // and the S3 wildcards it needs to copy the console's files.
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AwsSolutions-L1',
        ...['Abort*', 'DeleteObject*', 'GetBucket*', 'GetObject*', 'List*'].map((a) => `AwsSolutions-IAM5[Action::s3:${a}]`),
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<BatonConsoleFilesC048B1AA.Arn>/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      ].sort(),
    );
    for (const [id, reason] of acks) expect(reason.length, id).toBeGreaterThan(40);
  });

  it('runs as a validation plugin during synth', () => {
    const a = app();
    Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
    expect(() => a.synth()).not.toThrow();
  });
});
