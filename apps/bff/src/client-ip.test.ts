import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { addressBlock, clientIp, normalizeIp, parseTrustedProxies, UNKNOWN_CLIENT, type TrustedProxies } from "./client-ip.ts";

/** An app that answers with the client IP it sees; the socket's address comes from a test header. */
const ipApp = (trusted: TrustedProxies, inject = true) =>
  new Hono().get("/", (c) => c.text(clientIp(c, trusted, inject ? { remoteAddress: (c) => c.req.header("x-test-socket") } : {})));

const ipOf = async (app: Hono, socket: string | undefined, xff?: string) => {
  const headers: Record<string, string> = {};
  if (socket !== undefined) headers["x-test-socket"] = socket;
  if (xff !== undefined) headers["x-forwarded-for"] = xff;
  return (await app.request("/", { headers })).text();
};

describe("normalizeIp", () => {
  test("IPv4 stays as it is; IPv4-mapped IPv6, in either spelling, becomes IPv4", () => {
    expect(normalizeIp("203.0.113.7")).toBe("203.0.113.7");
    expect(normalizeIp("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(normalizeIp("::FFFF:cb00:7107")).toBe("203.0.113.7");
  });

  test("IPv6 is written one way: lower-case, compressed, without a zone", () => {
    expect(normalizeIp("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(normalizeIp("fe80::1%eth0")).toBe("fe80::1");
  });

  test("anything else is not an address", () => {
    for (const bad of ["", "unknown", "1.2.3", "01.2.3.4", "256.1.1.1", "1.2.3.4:80", "[::1]", "::g"]) expect(normalizeIp(bad)).toBeNull();
  });
});

describe("parseTrustedProxies", () => {
  test("addresses and CIDR ranges, IPv4 and IPv6, with spaces and empty entries", () => {
    const trusted = parseTrustedProxies(" 10.0.0.5, 172.16.0.0/12,, fd00::/8 ,::1");
    expect(trusted.entries).toEqual(["10.0.0.5", "172.16.0.0/12", "fd00::/8", "::1"]);
    for (const ip of ["10.0.0.5", "::ffff:10.0.0.5", "172.31.255.255", "fd12:3456::1", "::1", "0:0::1"]) expect(trusted.has(ip)).toBe(true);
    for (const ip of ["10.0.0.6", "172.32.0.1", "fe80::1", "2001:db8::1", "garbage"]) expect(trusted.has(ip)).toBe(false);
  });

  test("unset or empty trusts nobody", () => {
    expect(parseTrustedProxies(undefined).has("127.0.0.1")).toBe(false);
    expect(parseTrustedProxies("").entries).toEqual([]);
  });

  test("a bad entry is an error naming it and the variable", () => {
    for (const bad of ["10.0.0.300", "10.0.0.0/33", "fd00::/129", "10.0.0.0/8/1", "10.0.0.0/x", "proxy.internal"]) {
      expect(() => parseTrustedProxies(`127.0.0.1, ${bad}`)).toThrow(`TRUSTED_PROXIES: "${bad}" is not an IP address or a CIDR range`);
    }
  });
});

describe("clientIp", () => {
  const trusted = parseTrustedProxies("10.0.0.0/8, fd00::/8");

  test("without a server (app.request) and nothing injected: 'unknown', no exception", async () => {
    expect(await ipOf(ipApp(trusted, false), undefined, "1.2.3.4")).toBe(UNKNOWN_CLIENT);
  });

  test("the socket's address, normalised", async () => {
    const app = ipApp(trusted);
    expect(await ipOf(app, "198.51.100.1")).toBe("198.51.100.1");
    expect(await ipOf(app, "::ffff:198.51.100.1")).toBe("198.51.100.1");
    expect(await ipOf(app, "not an address")).toBe(UNKNOWN_CLIENT);
  });

  test("X-Forwarded-For from a socket that is not a trusted proxy is ignored", async () => {
    expect(await ipOf(ipApp(trusted), "198.51.100.1", "203.0.113.9")).toBe("198.51.100.1");
  });

  test("through trusted proxies: the right-most entry that is not a trusted proxy; the client's own entries left of it do not count", async () => {
    const app = ipApp(trusted);
    expect(await ipOf(app, "10.0.0.2", "203.0.113.9")).toBe("203.0.113.9");
    expect(await ipOf(app, "10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.3")).toBe("203.0.113.9");
    expect(await ipOf(app, "::ffff:10.0.0.2", "1.1.1.1,::ffff:203.0.113.9 , fd00::7")).toBe("203.0.113.9");
  });

  test("entries with a port, and several X-Forwarded-For headers read as one list", async () => {
    const app = ipApp(trusted);
    expect(await ipOf(app, "10.0.0.2", "203.0.113.9:5555")).toBe("203.0.113.9");
    expect(await ipOf(app, "10.0.0.2", "[2001:DB8::1]:443")).toBe("2001:db8::1");
    const headers = new Headers([
      ["x-test-socket", "10.0.0.2"],
      ["x-forwarded-for", "6.6.6.6"],
      ["x-forwarded-for", "203.0.113.9, 10.0.0.3"],
    ]);
    expect(await (await app.request("/", { headers })).text()).toBe("203.0.113.9");
  });

  test("only trusted hops, or none: the left-most trusted hop, or the socket", async () => {
    const app = ipApp(trusted);
    expect(await ipOf(app, "10.0.0.2", "10.0.0.9, 10.0.0.3")).toBe("10.0.0.9");
    expect(await ipOf(app, "10.0.0.2")).toBe("10.0.0.2");
    expect(await ipOf(app, "10.0.0.2", " , ")).toBe("10.0.0.2");
  });

  test("a malformed entry where the client's address should be: the nearest trusted hop stands in", async () => {
    expect(await ipOf(ipApp(trusted), "10.0.0.2", "203.0.113.9, garbage, 10.0.0.3")).toBe("10.0.0.3");
  });
});

describe("addressBlock", () => {
  test("IPv4 and other values are their own block; IPv6 is keyed by its /64", () => {
    expect(addressBlock("203.0.113.9")).toBe("203.0.113.9");
    expect(addressBlock(UNKNOWN_CLIENT)).toBe(UNKNOWN_CLIENT);
    expect(addressBlock("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressBlock("2001:db8:1:2::9")).toBe(addressBlock("2001:db8:1:2:ffff::1"));
    expect(addressBlock("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBlock("::1")).toBe("0:0:0:0::/64");
  });
});

describe("clientIp behind Bun's server", () => {
  test("the socket's address comes from getConnInfo when nothing is injected", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: ipApp(parseTrustedProxies(""), false).fetch });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/`, { headers: { "x-forwarded-for": "203.0.113.9" } });
      expect(await res.text()).toBe("127.0.0.1");
    } finally {
      await server.stop(true);
    }
  });
});
