import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS, METRICS_SERVICE } from '../functions/common/metrics.js';

export interface ParkedRecordsAlarmProps {
  readonly metricNamespace: string;
  /** @default - the alarm has no action */
  readonly topic?: ITopic;
}

/** The metric of parked records: stream records and timer messages Baton gave up on. */
export const RECORDS_PARKED = METRICS.recordsParked;

/**
 * An alarm as soon as a record is parked. A stream record that failed `BATON_STREAM_MAX_ATTEMPTS` times
 * is parked in the table (its run failed with `engine_error`) before the event source would send it to
 * the stream dead-letter queue, so the queue's own alarm would not see it: the master counts each one
 * parked as the `RecordsParked` metric (EMF), as the timer function does for a malformed message.
 */
export class ParkedRecordsAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly metric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: ParkedRecordsAlarmProps) {
    super(scope, id);
    this.metric = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: RECORDS_PARKED,
      dimensionsMap: { service: METRICS_SERVICE },
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
