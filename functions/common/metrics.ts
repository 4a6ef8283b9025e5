import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The counts Baton's alarms watch, emitted as CloudWatch metrics (Embedded Metric Format lines on
 * stdout, which Lambda turns into metrics) rather than counted from log lines: a log level that drops
 * the line must not drop the alarm. The infra reads these names, the namespace variable and the
 * `service` dimension from here.
 */
export const METRICS = {
  /** Leases the sweeper found expired and took back (crashed or frozen workers). */
  leasesReclaimed: 'LeasesReclaimed',
  /** Stream records and timer messages Baton gave up on (their runs failed with `engine_error`). */
  recordsParked: 'RecordsParked',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** Powertools' `service` dimension on every Baton metric; an alarm must name it to match. */
export const METRICS_SERVICE = 'baton';

/** The environment variable that names the metrics' namespace (Powertools' own). */
export const METRICS_NAMESPACE_VARIABLE = 'POWERTOOLS_METRICS_NAMESPACE';

/** Where the engine counts what its alarms watch. Absent (the local runtime, most tests): nothing is counted. */
export interface Counters {
  count(name: MetricName, value: number): void;
}

/**
 * Counters that publish each count at once as one EMF line, so a count survives a function that
 * fails right after it. Namespace from `POWERTOOLS_METRICS_NAMESPACE` (default `Baton`).
 */
export function emfCounters(namespace = process.env[METRICS_NAMESPACE_VARIABLE] ?? 'Baton'): Counters {
  const metrics = new Metrics({ namespace, serviceName: METRICS_SERVICE });
  return {
    count(name, value) {
      metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
  };
}
