import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { Baton, type BatonProps } from './baton.js';

/** Props of the stack `cdk deploy` creates: the stack's own, plus every `Baton` knob. */
export interface BatonStackProps extends StackProps {
  /** @default - every `Baton` default */
  readonly baton?: BatonProps;
  /**
   * Creates an alarm topic with this address subscribed (AWS mails a confirmation link first).
   * Ignored when `baton.alarmTopic` is set.
   * @default - no topic: alarms show in the CloudWatch console only
   */
  readonly alarmEmail?: string;
}

/** A stack that holds one `Baton` and publishes what callers need. */
export class BatonStack extends Stack {
  readonly baton: Baton;

  constructor(scope: Construct, id: string, props: BatonStackProps = {}) {
    super(scope, id, { description: 'Baton: serverless DAG workflow scheduler', ...props });
    let alarmTopic = props.baton?.alarmTopic;
    if (!alarmTopic && props.alarmEmail) {
      const topic = new sns.Topic(this, 'Alarms', { displayName: 'Baton alarms', enforceSSL: true });
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(topic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'Alarm notifications carry no workflow data. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key would add a monthly cost to every install.',
      });
      alarmTopic = topic;
    }
    this.baton = new Baton(this, 'Baton', { ...props.baton, alarmTopic });
    new CfnOutput(this, 'ApiUrl', { value: this.baton.apiUrl, description: 'Base URL of the Baton HTTP API' });
    if (this.baton.console) {
      new CfnOutput(this, 'ConsoleUrl', { value: this.baton.console.url, description: 'The Baton web console' });
      new CfnOutput(this, 'ConsoleUserPoolId', {
        value: this.baton.console.userPool.userPoolId,
        description: 'Cognito user pool of the console: aws cognito-idp admin-create-user --user-pool-id <this> ...',
      });
    }
    new CfnOutput(this, 'TableName', { value: this.baton.table.tableName, description: 'The Baton DynamoDB table' });
  }
}
