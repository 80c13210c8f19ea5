// The rate limits as a client meets them, against the machine's Redis (each test under a key prefix of its own).
import { afterEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { z } from "zod";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import { AppError, errorHandler, notFound } from "@storefront/shared/errors";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { validate } from "@storefront/shared/validate";
import { parseTrustedProxies } from "../client-ip.ts";
import {
  createRateLimitRedis,
  createRateLimits,
  DEFAULT_RATE_LIMIT_POLICIES,
  parseRateLimitPolicy,
  rateLimitPoliciesFromEnv,
  waitForRedis,
  type RateLimitOptions,
  type RateLimits,
} from "./rate-limit.ts";

const redisUp = await requireRedis("BFF rate limits");

const opened: { limits: RateLimits; prefix: string }[] = [];
afterEach(async () => {
  for (const { limits, prefix } of opened.splice(0)) {
    await limits.close();
    await deletePrefix(testRedisUrl, prefix);
  }
});

/** Limits on the test Redis, connected before the first request; the socket's address comes from x-test-socket. */
async function limitsOn(prefix: string, options: Partial<RateLimitOptions> = {}) {
  const redis = createRateLimitRedis(testRedisUrl);
  if (!(await waitForRedis(redis, 5000))) throw new Error(`no Redis at ${testRedisUrl}`);
  const { logger, lines } = captureLogs("bff");
  const limits = createRateLimits({ redis, prefix, logger, remoteAddress: (c) => c.req.header("x-test-socket"), ...options });
  opened.push({ limits, prefix });
  return { limits, lines };
}

const credentials = z.object({ email: z.string(), password: z.string() });

/** A BFF in miniature: x-test-user stands in for authenticate(); /data is limited by `general`, login and register by `auth`. */
function appWith(limits: RateLimits) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.onError(errorHandler(captureLogs("bff").logger));
  app.notFound(notFound);
  app.use(async (c, next) => {
    const sub = c.req.header("x-test-user");
    c.set("identity", sub ? { sub, role: "customer", userId: Number(sub), token: "test" } : null);
    await next();
  });
  app.use("/data/*", limits.general);
  app.get("/data/items", (c) => c.json({ items: [] }));
  app.get("/data/missing", () => {
    throw new AppError(404, "NOT_FOUND", "no such item");
  });
  app.get("/data/raw", () => new Response("raw", { headers: { "content-type": "text/plain" } }));
  app.post("/auth/login", limits.auth, validate("json", credentials), (c) => {
    const { password } = c.req.valid("json");
    if (password !== "right") throw new AppError(401, "INVALID_CREDENTIALS", "wrong email or password");
    return c.json({ token: "t" });
  });
  app.post("/auth/register", limits.auth, validate("json", credentials), (c) => c.json({ email: c.req.valid("json").email }, 201));
  return app;
}

type From = { user?: string; socket?: string; xff?: string };
const headersFrom = ({ user, socket = "198.51.100.1", xff }: From) => {
  const h: Record<string, string> = { "x-test-socket": socket };
  if (user) h["x-test-user"] = user;
  if (xff) h["x-forwarded-for"] = xff;
  return h;
};
const get = async (app: Hono<any>, path: string, from: From = {}) => app.request(path, { headers: headersFrom(from) });
const post = async (app: Hono<any>, path: string, body: unknown, from: From & { contentType?: string } = {}) =>
  app.request(path, {
    method: "POST",
    headers: { ...headersFrom(from), "content-type": from.contentType ?? "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const rateLimit = (res: Response) => res.headers.get("RateLimit");
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const statuses = async (requests: (() => Promise<Response>)[]) => {
  const out: number[] = [];
  for (const r of requests) out.push((await r()).status);
  return out;
};
const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

describe("parsing the policies", () => {
  test('"<requests>/<seconds>", spaces allowed around the parts', () => {
    expect(parseRateLimitPolicy("100/60")).toEqual({ points: 100, windowS: 60 });
    expect(parseRateLimitPolicy(" 5 / 900 ")).toEqual({ points: 5, windowS: 900 });
  });

  test("anything else is an error naming the variable and the value", () => {
    for (const bad of ["", "100", "100/", "/60", "0/60", "100/0", "-1/60", "1.5/60", "100/60s", "1e3/60", "100/60/1"]) {
      expect(() => parseRateLimitPolicy(bad, "RATE_LIMIT_IP")).toThrow(`RATE_LIMIT_IP must be "<requests>/<seconds>" with positive integers, e.g. "100/60"; got "${bad}"`);
    }
  });

  test("from the environment: the four variables, each defaulting when unset or empty", () => {
    expect(rateLimitPoliciesFromEnv({})).toEqual(DEFAULT_RATE_LIMIT_POLICIES);
    expect(DEFAULT_RATE_LIMIT_POLICIES).toEqual({
      user: { points: 600, windowS: 60 },
      ip: { points: 300, windowS: 60 },
      authIp: { points: 20, windowS: 60 },
      authEmail: { points: 5, windowS: 900 },
    });
    expect(rateLimitPoliciesFromEnv({ RATE_LIMIT_USER: "10/1", RATE_LIMIT_IP: "", RATE_LIMIT_AUTH_EMAIL: "3/3600" })).toEqual({
      ...DEFAULT_RATE_LIMIT_POLICIES,
      user: { points: 10, windowS: 1 },
      authEmail: { points: 3, windowS: 3600 },
    });
    expect(() => rateLimitPoliciesFromEnv({ RATE_LIMIT_AUTH_IP: "lots" })).toThrow('RATE_LIMIT_AUTH_IP must be "<requests>/<seconds>"');
  });
});

describe.skipIf(!redisUp)("general limits", () => {
  test("every answer carries RateLimit-Policy and RateLimit as structured fields: the policy, then what is left and for how long", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ip: { points: 3, windowS: 60 }, user: { points: 5, windowS: 30 } } });
    const app = appWith(limits);

    const anonymous = await get(app, "/data/items");
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("RateLimit-Policy")).toBe('"ip";q=3;w=60');
    expect(rateLimit(anonymous)).toMatch(/^"ip";r=2;t=(59|60)$/);

    const signedIn = await get(app, "/data/items", { user: "7" });
    expect(signedIn.headers.get("RateLimit-Policy")).toBe('"user";q=5;w=30');
    expect(rateLimit(signedIn)).toMatch(/^"user";r=4;t=(29|30)$/);
  });

  test("errors the route throws and responses it builds itself carry the headers too", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ip: { points: 3, windowS: 60 } } });
    const app = appWith(limits);
    const missing = await get(app, "/data/missing");
    expect(missing.status).toBe(404);
    expect(rateLimit(missing)).toMatch(/^"ip";r=2;t=\d+$/);
    const raw = await get(app, "/data/raw");
    expect(await raw.text()).toBe("raw");
    expect(rateLimit(raw)).toMatch(/^"ip";r=1;t=\d+$/);
  });

  test("past the quota: 429 RATE_LIMITED in the envelope, with Retry-After and both headers", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ip: { points: 3, windowS: 60 } } });
    const app = appWith(limits);
    expect(await statuses(times(3, () => () => get(app, "/data/items")))).toEqual([200, 200, 200]);

    const refused = await get(app, "/data/items");
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: { code: "RATE_LIMITED", message: expect.stringContaining('"ip"') } });
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(refused.headers.get("RateLimit-Policy")).toBe('"ip";q=3;w=60');
    expect(rateLimit(refused)).toBe(`"ip";r=0;t=${retryAfter}`);
    expect((await get(app, "/data/items")).status).toBe(429);
  });

  test("each user has a quota of their own, apart from the IP they come from; anonymous requests share their IP's", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { user: { points: 2, windowS: 60 }, ip: { points: 2, windowS: 60 } } });
    const app = appWith(limits);
    expect(await statuses(times(3, () => () => get(app, "/data/items", { user: "1" })))).toEqual([200, 200, 429]);
    expect((await get(app, "/data/items", { user: "2" })).status).toBe(200);

    const a = { socket: "198.51.100.1" };
    expect(await statuses(times(3, () => () => get(app, "/data/items", a)))).toEqual([200, 200, 429]);
    expect((await get(app, "/data/items", { socket: "198.51.100.2" })).status).toBe(200);
    // The same address signed in: counted as the user, not refused with the address's spent quota.
    const user3 = await get(app, "/data/items", { ...a, user: "3" });
    expect(user3.status).toBe(200);
    expect(rateLimit(user3)).toMatch(/^"user";r=1;/);
  });

  test("X-Forwarded-For is ignored from an untrusted socket and, from a trusted proxy, its right-most untrusted entry is the client", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), {
      policies: { ip: { points: 2, windowS: 60 } },
      trustedProxies: parseTrustedProxies("10.0.0.0/8"),
    });
    const app = appWith(limits);
    // A client of its own: a new X-Forwarded-For each time buys nothing.
    const rotating = times(3, (i) => () => get(app, "/data/items", { socket: "198.51.100.1", xff: `203.0.113.${i + 1}` }));
    expect(await statuses(rotating)).toEqual([200, 200, 429]);

    // Through our proxy: the address it saw counts, whatever the client wrote to the left of it.
    const proxied = (xff: string) => () => get(app, "/data/items", { socket: "10.0.0.2", xff });
    expect(await statuses([proxied("203.0.113.50, 10.0.0.7"), proxied("1.1.1.1, 203.0.113.50"), proxied("2.2.2.2, 203.0.113.50")])).toEqual([200, 200, 429]);
    expect((await proxied("203.0.113.51")()).status).toBe(200);
  });
});

describe.skipIf(!redisUp)("login and registration", () => {
  const policies = { authIp: { points: 20, windowS: 60 }, authEmail: { points: 5, windowS: 900 } };
  const login = (app: Hono<any>, email: unknown, password: string, from: From = {}) => post(app, "/auth/login", { email, password }, from);

  test("both policies in the headers: per IP, then per email", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies });
    const res = await login(appWith(limits), "ada@example.com", "wrong");
    expect(res.status).toBe(401);
    expect(res.headers.get("RateLimit-Policy")).toBe('"auth-ip";q=20;w=60, "auth-email";q=5;w=900');
    expect(rateLimit(res)).toMatch(/^"auth-ip";r=19;t=(59|60), "auth-email";r=4;t=(899|900)$/);
  });

  test("wrong passwords for one email count across IPs and spellings: the 6th of 20 is refused, and the rest", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies });
    const app = appWith(limits);
    const spellings = ["ada@example.com", " Ada@Example.com", "ADA@EXAMPLE.COM "];
    const attempts = times(20, (i) => () => login(app, spellings[i % 3], "wrong", { socket: `198.51.100.${i + 1}` }));
    const seen = await statuses(attempts);
    expect(seen).toEqual([...times(5, () => 401), ...times(15, () => 429)]);

    const refused = await login(app, "ada@example.com", "right", { socket: "198.51.100.99" });
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).message).toContain('"auth-email"');
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(60);
    expect(rateLimit(refused)).toMatch(/^"auth-ip";r=19;t=\d+, "auth-email";r=0;t=\d+$/);
    // Someone else's email is not affected.
    expect((await login(app, "grace@example.com", "wrong", { socket: "198.51.100.99" })).status).toBe(401);
  });

  test("a successful login clears its email's count: earlier typos do not lock the user out later", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies });
    const app = appWith(limits);
    expect(await statuses(times(4, () => () => login(app, "ada@example.com", "wrong")))).toEqual([401, 401, 401, 401]);
    expect((await login(app, "Ada@example.com", "right")).status).toBe(200);

    const typo = await login(app, "ada@example.com", "wrong");
    expect(typo.status).toBe(401);
    expect(rateLimit(typo)).toMatch(/"auth-email";r=4;/);
    expect(await statuses(times(4, () => () => login(app, "ada@example.com", "wrong")))).toEqual([401, 401, 401, 401]);
    expect((await login(app, "ada@example.com", "wrong")).status).toBe(429);
  });

  test("registration is limited the same way, and a 201 clears the email's count", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ...policies, authEmail: { points: 1, windowS: 900 } } });
    const app = appWith(limits);
    const register = () => post(app, "/auth/register", { email: "new@example.com", password: "x" });
    expect(await statuses([register, register, register])).toEqual([201, 201, 201]);
    expect(rateLimit(await register())).toMatch(/^"auth-ip";r=16;t=\d+, "auth-email";r=0;t=\d+$/);
  });

  test("the route's validator still reads the body: a non-JSON or email-less body gets its 400, counted per IP only", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies });
    const app = appWith(limits);
    const answers = [
      await post(app, "/auth/login", "{not json"),
      await post(app, "/auth/login", "email=ada@example.com&password=x", { contentType: "application/x-www-form-urlencoded" }),
      await post(app, "/auth/login", { password: "x" }),
      await post(app, "/auth/login", { email: 42, password: "x" }),
      await post(app, "/auth/login", ["ada@example.com"]),
    ];
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("BAD_REQUEST");
      expect(res.headers.get("RateLimit-Policy")).toBe('"auth-ip";q=20;w=60');
    }
    expect(rateLimit(answers.at(-1)!)).toMatch(/^"auth-ip";r=15;t=\d+$/);
    // And a well-formed body, read by the limit first, reaches the route whole.
    expect(await (await login(app, "ada@example.com", "right")).json()).toEqual({ token: "t" });
  });

  test("mounted as app.ts does (auth, then general on /auth/*): one header listing every policy applied", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ...policies, ip: { points: 300, windowS: 60 } } });
    const app = new Hono<{ Variables: AuthVariables }>();
    app.onError(errorHandler(captureLogs("bff").logger));
    app.use((c, next) => (c.set("identity", null), next()));
    app.use("/auth/login", limits.auth);
    app.use("/auth/*", limits.general);
    app.post("/auth/login", validate("json", credentials), (c) => c.json({ token: "t" }));
    app.get("/auth/login", (c) => c.text("not an attempt"));

    const res = await login(app, "ada@example.com", "right");
    expect(res.status).toBe(200);
    expect(res.headers.get("RateLimit-Policy")).toBe('"auth-ip";q=20;w=60, "auth-email";q=5;w=900, "ip";q=300;w=60');
    expect(rateLimit(res)).toMatch(/^"auth-ip";r=19;t=\d+, "auth-email";r=4;t=\d+, "ip";r=299;t=\d+$/);

    // Only POSTs are attempts: other methods meet the general limit alone.
    const other = await get(app, "/auth/login");
    expect(other.headers.get("RateLimit-Policy")).toBe('"ip";q=300;w=60');

    const refused = (await statuses(times(20, () => () => login(app, "x@example.com", "wrong")))).at(-1);
    expect(refused).toBe(429);
    const last = await login(app, "y@example.com", "wrong");
    expect(last.headers.get("RateLimit-Policy")).toBe('"auth-ip";q=20;w=60');
  });

  test("per IP: the 21st attempt from one address is refused before its body is looked at", async () => {
    const { limits } = await limitsOn(uniquePrefix("rl"), { policies: { ...policies, authEmail: { points: 1, windowS: 900 } } });
    const app = appWith(limits);
    const attempts = times(21, (i) => () => login(app, `user${i}@example.com`, "wrong"));
    expect((await statuses(attempts)).at(-1)).toBe(429);
    const refused = await login(app, "fresh@example.com", "right");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("RateLimit-Policy")).toBe('"auth-ip";q=20;w=60');
    // The refused attempts did not count against the emails they named.
    expect((await login(app, "fresh@example.com", "right", { socket: "198.51.100.2" })).status).toBe(200);
  });
});
