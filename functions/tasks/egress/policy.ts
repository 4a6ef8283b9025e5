/**
 * The egress policy: where an `http` task (or anything else that dials a URL for a workflow) may
 * connect. It is built once from the environment (the `Baton` construct sets it in AWS) and nothing a
 * workflow says can widen it. `check` is pure; `dispatcher.ts` applies it to every connection.
 */
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import { type Address, type AddressClass, classify, inRange, NAMED_CLASSES, parseAddress } from './address.js';

/** One entry of an allow or deny list. */
export type Rule =
  | { readonly kind: 'class'; readonly cls: AddressClass; readonly text: string }
  | { readonly kind: 'cidr'; readonly range: [Address, number]; readonly text: string }
  | { readonly kind: 'name'; readonly name: string; readonly text: string }
  | { readonly kind: 'suffix'; readonly suffix: string; readonly text: string };

/** An endpoint of the engine itself (its DynamoDB): never reachable from a task. */
export interface EngineEndpoint {
  readonly host: string;
  readonly port: number;
  readonly what: string;
}

export interface EgressPolicy {
  /** A destination must match one of these (by host name, address range or address class). */
  readonly allow: readonly Rule[];
  /** A destination matching one of these is refused, whatever `allow` says. */
  readonly deny: readonly Rule[];
  /** Allowed ports as inclusive ranges; undefined means any port. */
  readonly ports?: readonly (readonly [number, number])[];
  readonly engine: readonly EngineEndpoint[];
}

/** Why a destination is refused: the host, the address it resolved to, and the rule that matched. */
export interface Denial {
  readonly host: string;
  readonly address?: string;
  readonly rule: string;
}

/** Thrown (as the cause of a failed fetch) when the policy refuses a connection; no socket was opened. */
export class EgressDeniedError extends Error {
  override readonly name = 'EgressDeniedError';
  readonly denial: Denial;
  constructor(denial: Denial) {
    super(
      `egress denied: ${denial.host}${denial.address && denial.address !== denial.host ? ` (${denial.address})` : ''} by rule ${denial.rule}`,
    );
    this.denial = denial;
  }
}

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Parses one list entry: `public`, `private`, `loopback`, a CIDR, an IP, a host name or `*.domain`. */
export function parseRule(text: string, list: string): Rule {
  const t = text.trim().toLowerCase();
  if ((NAMED_CLASSES as readonly string[]).includes(t)) return { kind: 'class', cls: t as AddressClass, text: t };
  if (ipaddr.isValidCIDR(t)) return { kind: 'cidr', range: ipaddr.parseCIDR(t), text: t };
  const ip = parseAddress(t);
  if (ip) return { kind: 'cidr', range: [ip, ip.kind() === 'ipv4' ? 32 : 128], text: t };
  const name = t.replace(/\.$/, '');
  if (name.startsWith('*.') && HOST_NAME.test(name.slice(2))) return { kind: 'suffix', suffix: name.slice(1), text: t };
  if (HOST_NAME.test(name)) return { kind: 'name', name, text: t };
  throw new Error(`${list}: ${JSON.stringify(text)} is not public, private, loopback, a CIDR, an IP address, a host name or *.domain`);
}

function parseList(raw: string | undefined, list: string): Rule[] {
  return (raw ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => parseRule(s, list));
}

function parsePorts(raw: string | undefined): [number, number][] | undefined {
  if (raw === undefined || raw.trim() === '' || raw.trim() === '*') return undefined;
  return raw.split(',').map((part) => {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo < 1 || hi > 65535 || lo > hi) {
      throw new Error(`BATON_HTTP_PORTS: ${JSON.stringify(part)} is not a port or a range such as 8000-8999`);
    }
    return [lo, hi];
  });
}

function endpoint(raw: string | undefined, what: string): EngineEndpoint[] {
  if (!raw) return [];
  try {
    const u = new URL(raw);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    return [{ host: u.hostname.toLowerCase(), port, what }];
  } catch {
    return [];
  }
}

/** True when running inside AWS Lambda (rather than `npm start` or a test). */
function inLambda(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
}

/** The default allow list: public addresses only in AWS; also private and loopback under `npm start`. */
export function defaultAllow(env: NodeJS.ProcessEnv = process.env): string {
  return inLambda(env) ? 'public' : 'public,private,loopback';
}

/**
 * The policy from the environment: `BATON_HTTP_ALLOW` (default: see `defaultAllow`),
 * `BATON_HTTP_DENY` (default none), `BATON_HTTP_PORTS` (default any). The engine's DynamoDB endpoint
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`) is always denied.
 *
 * @throws Error naming the variable when an entry cannot be parsed (fail at cold start, not per task).
 */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): EgressPolicy {
  const allowRaw = env.BATON_HTTP_ALLOW?.trim() ? env.BATON_HTTP_ALLOW : defaultAllow(env);
  return {
    allow: parseList(allowRaw, 'BATON_HTTP_ALLOW'),
    deny: parseList(env.BATON_HTTP_DENY, 'BATON_HTTP_DENY'),
    ports: parsePorts(env.BATON_HTTP_PORTS),
    engine: [
      ...endpoint(env.AWS_ENDPOINT_URL_DYNAMODB, 'the engine DynamoDB endpoint'),
      ...endpoint(env.AWS_ENDPOINT_URL, 'the engine AWS endpoint'),
    ],
  };
}

/** The checks that need no address: scheme and port. */
export function checkUrl(policy: EgressPolicy, url: URL): Denial | undefined {
  return checkSchemeAndPort(policy, url.hostname, url.protocol, Number(url.port) || undefined);
}

/** Scheme (`http:`/`https:` only) and port; `port` undefined means the scheme's default. */
export function checkSchemeAndPort(policy: EgressPolicy, host: string, protocol: string, port?: number): Denial | undefined {
  if (protocol !== 'http:' && protocol !== 'https:') return { host, rule: `scheme ${protocol} (only http and https)` };
  const p = port ?? (protocol === 'https:' ? 443 : 80);
  if (policy.ports && !policy.ports.some(([lo, hi]) => p >= lo && p <= hi)) {
    return { host, rule: `port ${p} not in BATON_HTTP_PORTS` };
  }
  return undefined;
}

function nameMatches(rule: Rule, host: string): boolean {
  if (rule.kind === 'name') return host === rule.name;
  if (rule.kind === 'suffix') return host.endsWith(rule.suffix);
  return false;
}

function addressMatches(rule: Rule, a: Address, cls: AddressClass): boolean {
  if (rule.kind === 'cidr') return inRange(a, rule.range);
  if (rule.kind === 'class') return rule.cls === cls;
  return false;
}

/** Every address of this machine, for the rule that keeps tasks off a DynamoDB Local on this host. */
function localAddresses(): Address[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [parseAddress(i.address.replace(/%.*$/, ''))] : []))
    .filter((a): a is Address => a !== undefined);
}

function same(a: Address, b: Address): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

/**
 * Decides one connection: `host` as the URL named it, the `port`, and every address it resolved to
 * (an IP literal resolves to itself). `engineAddresses` are the resolved addresses of each engine
 * endpoint, in the order of `policy.engine`. Undefined means allowed; a connection is refused if any
 * of its addresses is.
 */
export function checkAddresses(
  policy: EgressPolicy,
  host: string,
  port: number,
  addresses: readonly Address[],
  engineAddresses: readonly (readonly Address[])[] = [],
): Denial | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  for (const rule of policy.deny) if (nameMatches(rule, name)) return { host, rule: `BATON_HTTP_DENY ${rule.text}` };
  const byName = policy.allow.some((r) => nameMatches(r, name));
  for (const a of addresses) {
    const address = a.toString();
    const cls = classify(a);
    if (cls === 'link-local') return { host, address, rule: 'always denied: link-local and cloud metadata addresses' };
    for (const [i, e] of policy.engine.entries()) {
      if (port !== e.port) continue;
      const own = engineAddresses[i] ?? [];
      const onThisMachine = own.some((o) => classify(o) === 'loopback' || localAddresses().some((l) => same(l, o)));
      const hit = own.some((o) => same(o, a)) || (onThisMachine && (cls === 'loopback' || localAddresses().some((l) => same(l, a))));
      if (hit) return { host, address, rule: `always denied: ${e.what} (${e.host}:${e.port})` };
    }
    for (const rule of policy.deny) if (addressMatches(rule, a, cls)) return { host, address, rule: `BATON_HTTP_DENY ${rule.text}` };
    if (!byName && !policy.allow.some((r) => addressMatches(r, a, cls))) {
      return { host, address, rule: `not in BATON_HTTP_ALLOW (${policy.allow.map((r) => r.text).join(',')}): a ${cls} address` };
    }
  }
  return undefined;
}
