import { describe, expect, it } from 'vitest';
import { HANDLERS, type HandlerName } from '../../infra/handlers.js';
import { actionsOf, allows } from './support/policy.js';
import { synth } from './support/stack.js';

const ARN = 'arn:AWS::Partition.Ref';
const REGION_ACCOUNT = 'AWS::Region.Ref:AWS::AccountId.Ref';
const secret = (name: string) => `${ARN}:secretsmanager:${REGION_ACCOUNT}:secret:${name}-AbC123`;
const parameter = (name: string) => `${ARN}:ssm:${REGION_ACCOUNT}:parameter/${name}`;
const names = Object.keys(HANDLERS) as HandlerName[];

describe('task egress and secrets in the Baton construct', () => {
  const s = synth();
  const ssm = synth({
    baton: {
      secrets: { service: 'ssm', prefix: '/team/baton/' },
      egress: { allow: ['public', '10.1.0.0/16', '*.corp.example'], deny: ['203.0.113.9'], ports: ['443', '8000-8999'] },
    },
  });
  const env = (x: typeof s, n: HandlerName) => x.json.Resources[x.fnId(n)].Properties.Environment.Variables;

  it('by default the worker reads Secrets Manager secrets under baton/ and nothing else', () => {
    const w = s.statements('worker');
    expect(allows(w, 'secretsmanager:GetSecretValue', secret('baton/API_KEY'))).toBe(true);
    expect(allows(w, 'secretsmanager:GetSecretValue', secret('baton/team/db'))).toBe(true);
    expect(allows(w, 'secretsmanager:GetSecretValue', secret('prod/API_KEY'))).toBe(false);
    expect(allows(w, 'secretsmanager:GetSecretValue', secret('batonx/API_KEY'))).toBe(false);
    expect(actionsOf(w).filter((a) => /secretsmanager|ssm|kms/.test(a))).toEqual(['secretsmanager:GetSecretValue']);
    expect(env(s, 'worker')).toMatchObject({
      BATON_SECRETS: 'secretsmanager',
      BATON_SECRETS_PREFIX: 'baton/',
      BATON_SECRETS_MAX_AGE: '60',
    });
    // Without egress props the worker keeps the code's AWS defaults (public addresses only).
    expect(env(s, 'worker').BATON_HTTP_ALLOW).toBeUndefined();
  });

  it('no other function may read secrets', () => {
    for (const n of names.filter((x) => x !== 'worker')) {
      expect(
        actionsOf(s.statements(n)).filter((a) => /secretsmanager|ssm:/.test(a)),
        n,
      ).toEqual([]);
      expect(env(s, n).BATON_SECRETS, n).toBeUndefined();
    }
  });

  it('with SSM and a prefix, parameters under that prefix only', () => {
    const w = ssm.statements('worker');
    expect(allows(w, 'ssm:GetParameter', parameter('team/baton/API_KEY'))).toBe(true);
    expect(allows(w, 'ssm:GetParameter', parameter('team/other/API_KEY'))).toBe(false);
    expect(allows(w, 'secretsmanager:GetSecretValue', secret('baton/API_KEY'))).toBe(false);
    expect(actionsOf(w).filter((a) => /secretsmanager|ssm|kms/.test(a))).toEqual(['ssm:GetParameter']);
    expect(env(ssm, 'worker')).toMatchObject({ BATON_SECRETS: 'ssm', BATON_SECRETS_PREFIX: '/team/baton/' });
  });

  it('the egress prop becomes the policy environment of the worker and of the functions that post webhooks', () => {
    const policy = {
      BATON_HTTP_ALLOW: 'public,10.1.0.0/16,*.corp.example',
      BATON_HTTP_DENY: '203.0.113.9',
      BATON_HTTP_PORTS: '443,8000-8999',
    };
    // Webhooks connect through the same policy as http tasks; the timer posts them, the sweeper retries lost ones.
    for (const n of ['worker', 'timer', 'sweeper'] as const) expect(env(ssm, n), n).toMatchObject(policy);
    for (const n of names.filter((x) => !['worker', 'timer', 'sweeper'].includes(x))) {
      expect(env(ssm, n).BATON_HTTP_ALLOW, n).toBeUndefined();
    }
  });

  it('refuses a bad egress entry or a prefix that would grant every secret, at synth time', () => {
    expect(() => synth({ baton: { egress: { allow: ['10.0.0.0/33'] } } })).toThrow(/egress\.allow/);
    expect(() => synth({ baton: { secrets: { prefix: '' } } })).toThrow(/secrets\.prefix/);
    expect(() => synth({ baton: { secrets: { prefix: 'a*' } } })).toThrow(/secrets\.prefix/);
  });
});
