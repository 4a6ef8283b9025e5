import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS, METRICS_SERVICE } from '../functions/common/metrics.js';

export interface BatonAlarmsProps {
  /** Every function: an alarm on its errors and one on its throttles. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Every dead-letter queue: an alarm as soon as it holds a message. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The stream consumer, whose iterator age says how far behind the master runs. */
  readonly streamConsumer: IFunction;
  readonly iteratorAgeThreshold: Duration;
  readonly leasesReclaimedThreshold: number;
  readonly metricNamespace: string;
  /** @default - alarms have no actions */
  readonly topic?: ITopic;
}

/**
 * The metric the sweeper emits (EMF, `functions/common/metrics.ts`): leases it found expired and took
 * back. A metric, not a log filter, so that no log level can silence the alarm.
 */
export const LEASES_RECLAIMED = METRICS.leasesReclaimed;

/** Baton's alarms. Missing data is never an alarm: an idle Baton emits almost nothing. */
export class BatonAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly leasesReclaimed: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: BatonAlarmsProps) {
    super(scope, id);
    const above = (name: string, metric: cloudwatch.Metric, threshold: number, description: string, periods = 1) => {
      const alarm = metric.createAlarm(this, name, {
        alarmDescription: description,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: periods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.topic) alarm.addAlarmAction(new SnsAction(props.topic));
      this.alarms.push(alarm);
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      above(
        `${name}Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
        1,
        `Messages in the ${name} dead-letter queue: work that failed all its retries. Inspect, fix, redrive.`,
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      above(`${name}Errors`, fn.metricErrors(fiveMinutes), 1, `The ${name} function failed (see its log group).`);
      above(`${name}Throttles`, fn.metricThrottles(fiveMinutes), 1, `The ${name} function was throttled (account concurrency).`);
    }
    above(
      'IteratorAge',
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: props.streamConsumer.functionName },
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      props.iteratorAgeThreshold.toMilliseconds(),
      'The master is falling behind the table stream: runs advance late.',
      3,
    );

    this.leasesReclaimed = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: LEASES_RECLAIMED,
      dimensionsMap: { service: METRICS_SERVICE },
      ...fiveMinutes,
    });
    above(
      LEASES_RECLAIMED,
      this.leasesReclaimed,
      props.leasesReclaimedThreshold,
      'The sweeper took back attempts whose workers stopped heartbeating (crashed or timed-out workers).',
    );
  }
}
