/**
 * Applies the egress policy to real connections. An undici `Agent` whose connector resolves the host
 * itself, checks every address against the policy, and then connects to the address it checked (TLS
 * still verifies the certificate against the host name), so a DNS answer that changes between the check
 * and the connection (rebinding) cannot redirect it. Every new connection goes through the connector,
 * so every redirect hop is checked again. A refused connection opens no socket.
 */
import { ADDRCONFIG } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { Agent, buildConnector, type Dispatcher, fetch as undiciFetch } from 'undici';
import { type Address, parseAddress } from './address.js';
import { checkAddresses, checkSchemeAndPort, checkUrl, EgressDeniedError, type EgressPolicy, policyFromEnv } from './policy.js';

/** Resolves a host name to its addresses; injectable so tests need no public names. */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as Node's own connections use): every address of a configured family, in its order. */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true, hints: ADDRCONFIG })).map((r) => r.address);

export interface EgressOptions {
  readonly resolver?: Resolver;
  /** TLS and socket options for the underlying connector (tests pass a CA here). */
  readonly connect?: buildConnector.BuildOptions;
}

async function resolveAll(resolver: Resolver, host: string): Promise<Address[]> {
  const literal = parseAddress(host);
  if (literal) return [literal];
  const found = (await resolver(host)).map(parseAddress).filter((a): a is Address => a !== undefined);
  if (found.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
  return found;
}

/**
 * An undici dispatcher that refuses, before any socket exists, every connection the policy denies.
 * The connect error is an `EgressDeniedError` (fetch reports it as the `cause` of its TypeError).
 */
export function egressDispatcher(policy: EgressPolicy, options: EgressOptions = {}): Agent {
  const resolver = options.resolver ?? systemResolver;
  const base = buildConnector({ ...options.connect });
  let engine: Promise<Address[][]> | undefined;
  const engineAddresses = () => {
    engine ??= Promise.all(policy.engine.map((e) => resolveAll(resolver, e.host).catch(() => [])));
    return engine;
  };
  const connect: buildConnector.connector = (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const decide = async (): Promise<Address[]> => {
      const early = checkSchemeAndPort(policy, opts.hostname, opts.protocol, port);
      if (early) throw new EgressDeniedError(early);
      const addresses = await resolveAll(resolver, opts.hostname);
      const denial = checkAddresses(policy, opts.hostname, port, addresses, await engineAddresses());
      if (denial) throw new EgressDeniedError(denial);
      return addresses;
    };
    // Every address was checked, so any may be tried: in order, the next one if a connection fails.
    // `host` stays the name, so the TLS server name (SNI and certificate check) is the name, not the IP.
    const attempt = (addresses: Address[], i: number) =>
      base({ ...opts, hostname: (addresses[i] as Address).toString() }, (err, socket) => {
        if (err && i + 1 < addresses.length) attempt(addresses, i + 1);
        else if (err) callback(err, null);
        else callback(null, socket as NonNullable<typeof socket>);
      });
    decide().then(
      (addresses) => attempt(addresses, 0),
      (err: Error) => callback(err, null),
    );
  };
  return new Agent({ connect });
}

/** The variables `policyFromEnv` reads: the shared policy is rebuilt if one of them changes. */
const POLICY_ENV = [
  'BATON_HTTP_ALLOW',
  'BATON_HTTP_DENY',
  'BATON_HTTP_PORTS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL',
  'AWS_LAMBDA_FUNCTION_NAME',
];

/**
 * The policy and dispatcher for this process, built from the environment on first use and kept while
 * the variables it was built from stay the same (always, in a deployed function; a test process that
 * runs several files in turn points the engine endpoint elsewhere between them).
 */
let shared: { key: string; policy: EgressPolicy; dispatcher: Agent } | undefined;
/** One dispatcher (one connection pool) per policy object handed to `policyFetch`. */
const pools = new WeakMap<EgressPolicy, Agent>();

/** This process's egress policy (from the environment, see `policyFromEnv`) and its dispatcher. */
export function defaultEgress(): { policy: EgressPolicy; dispatcher: Agent } {
  const key = JSON.stringify(POLICY_ENV.map((v) => process.env[v]));
  if (shared?.key !== key) {
    const policy = policyFromEnv();
    shared = { key, policy, dispatcher: egressDispatcher(policy) };
  }
  return shared;
}

/** What `policyFetch` accepts: undici's `fetch` options, with an optional dispatcher of the caller's. */
export type PolicyFetchInit = Parameters<typeof undiciFetch>[1] & { dispatcher?: Dispatcher };

/**
 * `fetch` under the egress policy: the scheme and port are checked before anything else, every
 * connection (the first and each redirect hop) through `egressDispatcher`. A refusal rejects with an
 * `EgressDeniedError` (directly, or as the `cause` of fetch's TypeError); use `egressDenial` to tell.
 * With no `init.dispatcher`, one dispatcher per policy object is built on first use and kept.
 */
export async function policyFetch(policy: EgressPolicy, url: string | URL, init: PolicyFetchInit = {}) {
  const target = new URL(url);
  const early = checkUrl(policy, target);
  if (early) throw new EgressDeniedError(early);
  let dispatcher = init.dispatcher ?? pools.get(policy);
  if (!dispatcher) {
    const made = policy === shared?.policy ? shared.dispatcher : egressDispatcher(policy);
    pools.set(policy, made);
    dispatcher = made;
  }
  return undiciFetch(target, { ...init, dispatcher });
}

/** The egress refusal behind an error thrown by fetch, if that is what it was. */
export function egressDenial(err: unknown): EgressDeniedError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EgressDeniedError) return e;
  }
  return undefined;
}
