// Who is on the other end of a request: the socket's address, or, when that socket is one of our own proxies,
// the address the proxies saw. X-Forwarded-For is only ever read through a proxy we trust: a client can write
// anything in it, so honouring it from anyone else would let each request pick its own rate-limit key.
import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import { BlockList, isIP } from "node:net";

/** The address used when the socket's is not known (under `app.request()` there is no server). */
export const UNKNOWN_CLIENT = "unknown";

export type TrustedProxies = {
  /** The entries as written, for logs. */
  readonly entries: readonly string[];
  has(ip: string): boolean;
};

export type ClientIpOptions = {
  /** The socket's address; defaults to Bun's (`getConnInfo`). Tests inject one. */
  remoteAddress?: (c: Context) => string | undefined;
};

/**
 * An IP address in one spelling per address: IPv4 dotted, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as IPv4, other
 * IPv6 lower-case and compressed (RFC 5952), zone dropped. Null when `raw` is not an address.
 */
export function normalizeIp(raw: string): string | null {
  const text = raw.trim();
  if (isIP(text) === 4) return text;
  const unzoned = text.split("%")[0]!;
  if (isIP(unzoned) !== 6) return null;
  // The URL parser already implements RFC 5952; it also writes an embedded IPv4 as two hex groups.
  const canonical = new URL(`http://[${unzoned}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** An X-Forwarded-For entry may carry a port ("1.2.3.4:5678", "[2001:db8::1]:443"); some proxies write one. */
function hopAddress(entry: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return normalizeIp(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return normalizeIp(v4WithPort ? v4WithPort[1]! : entry);
}

/**
 * TRUSTED_PROXIES: a comma-separated list of addresses and CIDR ranges ("10.0.0.5, 10.1.0.0/16, fd00::/8").
 * Empty or unset trusts nobody. A bad entry throws, naming it.
 */
export function parseTrustedProxies(raw: string | undefined, name = "TRUSTED_PROXIES"): TrustedProxies {
  const list = new BlockList();
  const entries = (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [addressPart, prefixPart, ...extra] = entry.split("/");
    const address = normalizeIp(addressPart!);
    const family = address === null ? 0 : isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixPart === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixPart) ? Number(prefixPart) : NaN;
    if (address === null || extra.length > 0 || !(prefix >= 0 && prefix <= maxPrefix)) {
      throw new Error(`${name}: "${entry}" is not an IP address or a CIDR range (e.g. 10.0.0.5 or 10.0.0.0/8)`);
    }
    list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return {
    entries,
    has(ip) {
      const address = normalizeIp(ip);
      if (address === null) return false;
      return list.check(address, isIP(address) === 4 ? "ipv4" : "ipv6");
    },
  };
}

/** The socket's address from Bun's server; undefined without one (tests through `app.request()`). */
export function socketAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/**
 * The client's address. Through trusted proxies: the right-most X-Forwarded-For entry that is not itself a
 * trusted proxy (entries left of it were written by the client and prove nothing). If that entry is not an
 * address, the nearest hop we trust stands in for it.
 */
export function clientIp(c: Context, trustedProxies: TrustedProxies, options: ClientIpOptions = {}): string {
  const raw = (options.remoteAddress ?? socketAddress)(c);
  const socket = raw === undefined ? null : normalizeIp(raw);
  if (socket === null) return UNKNOWN_CLIENT;
  if (!trustedProxies.has(socket)) return socket;
  const hops = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let nearest = socket;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!);
    if (hop === null) return nearest;
    if (!trustedProxies.has(hop)) return hop;
    nearest = hop;
  }
  return nearest;
}

/**
 * What one subscriber controls: an IPv4 address, or an IPv6 /64 (ISPs hand out at least that much, so keying
 * by the whole IPv6 address would give each client 2^64 quotas). Anything else is returned as it is.
 */
export function addressBlock(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = "", tail] = ip.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return `${groups.slice(0, 4).join(":")}::/64`;
}
