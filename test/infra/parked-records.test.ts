import { describe, expect, it } from 'vitest';
import { synth } from './support/stack.js';

const s = synth();
const resources = (type: string) => Object.entries(s.json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
const mappingOf = (fn: string) =>
  resources('AWS::Lambda::EventSourceMapping').find(([, r]) => r.Properties.FunctionName.Ref === s.fnId(fn as never))?.[1];

/**
 * A poison record costs one run, not the shard, in AWS too: the stream mapping reports per-record
 * failures, bisects, retries a bounded number of times and sends what it gives up on to a dead-letter
 * queue; the master parks a record (failing its run) before the mapping gives up; parked records alarm.
 */
describe('poison records in AWS', () => {
  it('the master stream mapping: partial batch responses, bisection, bounded retries, an on-failure destination', () => {
    const esm = mappingOf('master');
    expect(esm?.Properties).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [s.id(s.stack.baton.deadLetterQueues.stream), 'Arn'] } } },
    });
  });

  it('the master parks a record after fewer attempts than the mapping retries, so its run fails first', () => {
    const [, fn] = resources('AWS::Lambda::Function').find(([id]) => id === s.fnId('master')) ?? [];
    const attempts = Number(fn?.Properties.Environment.Variables.BATON_STREAM_MAX_ATTEMPTS);
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThan(mappingOf('master')?.Properties.MaximumRetryAttempts);
    const few = synth({ baton: { streamRetryAttempts: 2 } });
    few.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { BATON_STREAM_MAX_ATTEMPTS: '2' } },
    });
  });

  it('the timer queue mapping reports per-message failures, and the queue dead-letters after a bound', () => {
    expect(mappingOf('timer')?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [s.id(s.stack.baton.deadLetterQueues.timer), 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('a parked record (the RecordsParked metric the master and the timer function emit) raises an alarm', () => {
    for (const fn of ['master', 'timer'] as const) {
      const props = resources('AWS::Lambda::Function').find(([id]) => id === s.fnId(fn as never))?.[1].Properties;
      expect(props?.Environment.Variables, fn).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'Baton/Baton' });
    }
    expect(s.template.findResources('AWS::Logs::MetricFilter')).toEqual({});
    const alarm = resources('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.MetricName === 'RecordsParked')?.[1];
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'Baton/Baton',
      Dimensions: [{ Name: 'service', Value: 'baton' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    // And the stream dead-letter queue, where the mapping sends what even parking could not handle.
    const dlq = resources('AWS::CloudWatch::Alarm').filter(([, a]) =>
      JSON.stringify(a.Properties.Dimensions ?? []).includes(s.id(s.stack.baton.deadLetterQueues.stream)),
    );
    expect(dlq).toHaveLength(1);
  });
});
