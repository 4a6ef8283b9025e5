import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface ParkedRecordsAlarmProps {
  /** Log groups of the functions that park records (the master, the timer function). */
  readonly logGroups: Readonly<Record<string, logs.ILogGroup>>;
  readonly metricNamespace: string;
  /** @default - the alarm has no action */
  readonly topic?: ITopic;
}

/** The metric of parked records: stream records and timer messages Baton gave up on. */
export const RECORDS_PARKED = 'RecordsParked';

/**
 * An alarm as soon as a record is parked. A stream record that failed `BATON_STREAM_MAX_ATTEMPTS` times
 * is parked in the table (its run failed with `engine_error`) before the event source would send it to
 * the stream dead-letter queue, so the queue's own alarm would not see it: the master's `parked: true`
 * log line is what counts, as is the timer function's for a malformed message.
 */
export class ParkedRecordsAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly metric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: ParkedRecordsAlarmProps) {
    super(scope, id);
    for (const [name, logGroup] of Object.entries(props.logGroups)) {
      new logs.MetricFilter(this, `${name}Filter`, {
        logGroup,
        filterPattern: logs.FilterPattern.booleanValue('$.parked', true),
        metricNamespace: props.metricNamespace,
        metricName: RECORDS_PARKED,
        metricValue: '1',
      });
    }
    this.metric = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: RECORDS_PARKED,
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
    });
    this.alarm = this.metric.createAlarm(this, 'Alarm', {
      alarmDescription:
        'Baton parked a stream record or timer message that kept failing; its run failed with engine_error. See the PARKED items in the table and the log line with parked=true.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.topic) this.alarm.addAlarmAction(new SnsAction(props.topic));
  }
}
