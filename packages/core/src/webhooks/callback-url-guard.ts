import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { NanoGridError } from '../errors.js';

/** Which callback destinations a host may post to. */
export interface CallbackUrlPolicy {
  /**
   * Networks (CIDR, e.g. `10.0.0.0/8`, `127.0.0.1/32`) a callback may reach even
   * though they are loopback, private or link-local. @default [] (public addresses only)
   */
  allowNetworks?: string[];
  /** Allow plain `http:` URLs. @default true */
  allowHttp?: boolean;
}

/**
 * Only ipaddr.js's `unicast` (the public internet) is reachable: every named range
 * (loopback, private, link-local, site-local, NAT64, 6to4, reserved, …) is refused,
 * including ones a newer list adds. IPv4-compatible IPv6 (`::a.b.c.d`, deprecated)
 * counts as unicast there, so it is refused by prefix.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

const MAX_URL_LENGTH = 2048;

function refused(message: string, url: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field: 'callback_url', url } });
}

/** Throws VALIDATION_FAILED unless `address` is public or inside an allowed network. */
export function checkAddress(address: string, policy: CallbackUrlPolicy, url = address): void {
  let ip = ipaddr.process(address); // IPv4-mapped IPv6 becomes IPv4, so ::ffff:127.0.0.1 is loopback.
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  for (const cidr of policy.allowNetworks ?? []) {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    if (net.kind() === ip.kind() && ip.match(net, bits)) return;
  }
  let range: string = ip.range();
  if (ip.kind() === 'ipv6' && ip.match(IPV4_COMPATIBLE)) range = 'ipv4Compatible';
  if (range !== 'unicast') {
    throw refused(
      `callback_url ${url} resolves to ${address} (${range}), which callbacks may not reach; ` +
        'allow the network in webhooks.allowNetworks if it is meant',
      url,
    );
  }
}

/**
 * Checks a callback URL's shape and, when its host is a literal address, the
 * address. Names are checked again at connection time by `guardedLookup`, so a
 * name that resolves to a private address later (DNS rebinding) is refused too.
 */
export function checkCallbackUrl(raw: unknown, policy: CallbackUrlPolicy = {}): URL {
  if (typeof raw !== 'string' || raw.length === 0) throw refused('callback_url must be a non-empty string', '');
  if (raw.length > MAX_URL_LENGTH) throw refused(`callback_url is longer than ${MAX_URL_LENGTH} characters`, '');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused(`callback_url "${raw}" is not an absolute URL`, raw);
  }
  const allowHttp = policy.allowHttp ?? true;
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw refused(`callback_url must use ${allowHttp ? 'http or https' : 'https'}, not ${url.protocol}`, raw);
  }
  if (url.username || url.password) throw refused('callback_url must not carry credentials', raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host)) checkAddress(host, policy, raw);
  else if (/(^|\.)localhost\.?$/i.test(host)) checkAddress('127.0.0.1', policy, raw);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) requests that refuses every resolved address the
 * policy does not allow: the address checked is the address connected to.
 */
export function guardedLookup(policy: CallbackUrlPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        for (const a of addresses) checkAddress(a.address, policy, hostname);
      } catch (refusal) {
        return callback(refusal as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * A callback URL as shown by the API and in logs: its origin only. Paths often
 * carry the secret (Slack incoming webhooks: `/services/T…/B…/<token>`).
 */
export function redactCallbackUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && !u.search ? u.origin : `${u.origin}/…`;
  } catch {
    return '…';
  }
}
