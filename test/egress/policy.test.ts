import { describe, expect, it } from 'vitest';
import { type Address, parseAddress } from '../../functions/tasks/egress/address.js';
import { checkAddresses, checkUrl, policyFromEnv } from '../../functions/tasks/egress/policy.js';

const aws = { AWS_LAMBDA_FUNCTION_NAME: 'baton-worker' };
const addr = (s: string) => parseAddress(s) as Address;
const rule = (env: Record<string, string>, host: string, ip: string, port = 443) =>
  checkAddresses(policyFromEnv(env), host, port, [addr(ip)])?.rule;

describe('the egress policy, decided without sockets', () => {
  it('in AWS only public addresses pass by default', () => {
    expect(rule(aws, 'example.test', '93.184.216.34')).toBeUndefined();
    for (const ip of ['10.0.0.5', '172.16.3.4', '192.168.1.1', '100.64.0.1', 'fd12::1', '127.0.0.1', '::1', '0.0.0.0', '::']) {
      expect(rule(aws, ip, ip), ip).toMatch(/^not in BATON_HTTP_ALLOW \(public\)/);
    }
  });

  it('under npm start loopback and private ranges pass by default', () => {
    for (const ip of ['10.0.0.5', '100.64.0.1', 'fd12::1', '127.0.0.1', '::1']) expect(rule({}, ip, ip), ip).toBeUndefined();
  });

  it('metadata and link-local are denied in every form, whatever the lists say', () => {
    const wide = { BATON_HTTP_ALLOW: '0.0.0.0/0,::/0,public,private,loopback,169.254.169.254' };
    for (const ip of [
      '169.254.169.254',
      '169.254.0.1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      'fd00:ec2::254',
      '64:ff9b::a9fe:a9fe',
    ]) {
      expect(rule(wide, 'h', ip), ip).toMatch(/^always denied/);
    }
  });

  it('a name, suffix or CIDR in the allow list lets a private address through in AWS; deny wins over allow', () => {
    const env = { ...aws, BATON_HTTP_ALLOW: 'public,db.internal,*.corp.test,10.9.0.0/16' };
    expect(rule(env, 'db.internal', '10.0.0.5')).toBeUndefined();
    expect(rule(env, 'api.corp.test', '192.168.1.1')).toBeUndefined();
    expect(rule(env, 'corp.test', '192.168.1.1')).toMatch(/^not in BATON_HTTP_ALLOW/);
    expect(rule(env, 'x', '10.9.1.1')).toBeUndefined();
    expect(rule({ ...env, BATON_HTTP_DENY: 'db.internal' }, 'db.internal', '10.0.0.5')).toBe('BATON_HTTP_DENY db.internal');
    expect(rule({ ...env, BATON_HTTP_DENY: 'private' }, 'x', '10.9.1.1')).toBe('BATON_HTTP_DENY private');
  });

  it('a connection is refused when any address of the host is', () => {
    const p = policyFromEnv({ ...aws });
    expect(checkAddresses(p, 'two.test', 443, [addr('93.184.216.34'), addr('10.0.0.1')])?.address).toBe('10.0.0.1');
  });

  it('scheme and port rules', () => {
    const p = policyFromEnv({ BATON_HTTP_PORTS: '443,8000-8999' });
    expect(checkUrl(p, new URL('ftp://example.test/'))?.rule).toMatch(/^scheme ftp:/);
    expect(checkUrl(p, new URL('https://example.test/'))).toBeUndefined();
    expect(checkUrl(p, new URL('http://example.test:8080/'))).toBeUndefined();
    expect(checkUrl(p, new URL('http://example.test/'))?.rule).toBe('port 80 not in BATON_HTTP_PORTS');
  });

  it('a bad entry fails loudly, naming the variable', () => {
    expect(() => policyFromEnv({ BATON_HTTP_ALLOW: 'public,not a host' })).toThrow(/BATON_HTTP_ALLOW: "not a host"/);
    expect(() => policyFromEnv({ BATON_HTTP_DENY: '10.0.0.0/40' })).toThrow(/BATON_HTTP_DENY/);
    expect(() => policyFromEnv({ BATON_HTTP_PORTS: '0' })).toThrow(/BATON_HTTP_PORTS/);
  });
});
