import { ArnFormat, type Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { parseRule } from '../functions/tasks/egress/policy.js';
import type { BatonFunction } from './baton-function.js';
import { nagResourceName } from './task-access.js';

/**
 * Where `http` tasks may connect (`functions/tasks/egress/policy.ts`), set on the worker as
 * `BATON_HTTP_ALLOW`, `BATON_HTTP_DENY` and `BATON_HTTP_PORTS`. Link-local and cloud metadata
 * addresses are denied whatever these say.
 */
export interface BatonEgress {
  /**
   * Entries: `public`, `private` (RFC 1918, 100.64/10, fc00::/7), `loopback`, a CIDR, an IP, a host
   * name or `*.domain`. A destination must match one. @default ['public']
   */
  readonly allow?: readonly string[];
  /** Same entries; a match is refused whatever `allow` says. @default - none */
  readonly deny?: readonly string[];
  /** Allowed ports or ranges, such as `443` or `8000-8999`. @default - any port */
  readonly ports?: readonly string[];
}

/** Where `${secrets.NAME}` is read in AWS; the worker may read nothing else. */
export interface BatonSecrets {
  /** @default 'secretsmanager' */
  readonly service?: 'secretsmanager' | 'ssm';
  /** `${secrets.NAME}` reads `<prefix>NAME`. @default 'baton/' (Secrets Manager) or '/baton/' (SSM) */
  readonly prefix?: string;
  /** How long the worker caches a value. @default Duration.minutes(1) */
  readonly maxAge?: Duration;
}

/**
 * Sets the egress policy of the worker and of the functions that deliver webhooks (which connect
 * through the same policy, `functions/orchestrator/events/deliver.ts`), and grants the worker alone
 * read access to secrets under the configured prefix only.
 */
export function configureTaskEgress(
  scope: Construct,
  worker: BatonFunction,
  egress: BatonEgress = {},
  secrets: BatonSecrets = {},
  webhookSenders: readonly BatonFunction[] = [],
): void {
  const list = (name: string, entries: readonly string[] | undefined) => {
    // Checked at synth time, so a typo fails `cdk synth` rather than every http task after deploy.
    for (const e of entries ?? []) parseRule(e, `egress.${name}`);
    return (entries ?? []).join(',');
  };
  const allow = list('allow', egress.allow);
  const deny = list('deny', egress.deny);
  for (const fn of [worker, ...webhookSenders]) {
    if (allow) fn.addEnvironment('BATON_HTTP_ALLOW', allow);
    if (deny) fn.addEnvironment('BATON_HTTP_DENY', deny);
    if (egress.ports?.length) fn.addEnvironment('BATON_HTTP_PORTS', egress.ports.join(','));
  }

  const service = secrets.service ?? 'secretsmanager';
  const prefix = secrets.prefix ?? (service === 'ssm' ? '/baton/' : 'baton/');
  if (!Token.isUnresolved(prefix) && (prefix === '' || prefix === '/' || prefix.includes('*'))) {
    throw new Error(`secrets.prefix must name a non-empty path without *, got ${JSON.stringify(prefix)}`);
  }
  worker.addEnvironment('BATON_SECRETS', service);
  worker.addEnvironment('BATON_SECRETS_PREFIX', prefix);
  worker.addEnvironment('BATON_SECRETS_MAX_AGE', String((secrets.maxAge?.toSeconds() ?? 60) | 0));
  const stack = Stack.of(scope);
  const resource =
    service === 'ssm'
      ? stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `${prefix.replace(/^\//, '')}*` })
      : stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${prefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  worker.addToRolePolicy(
    new iam.PolicyStatement({
      actions: service === 'ssm' ? ['ssm:GetParameter'] : ['secretsmanager:GetSecretValue'],
      resources: [resource],
    }),
  );
  Validations.of(worker.role!).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceName(scope, resource)}]`,
    reason: 'Secrets that workflows reference as ${secrets.NAME}: only names under the configured prefix, known at run time.',
  });
}
