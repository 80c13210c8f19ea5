// Rate limits for the BFF: per user (or per client IP when anonymous) on every limited route, and stricter
// per IP and per email on login and registration, counted in Redis so all replicas share one quota.
// Every answer of a limited route carries RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers);
// a refusal is 429 RATE_LIMITED with Retry-After.
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { Redis } from "ioredis";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import { AppError } from "@storefront/shared/errors";
import type { Logger } from "@storefront/shared/observability/logger";
import { addressBlock, clientIp, parseTrustedProxies, type ClientIpOptions, type TrustedProxies } from "../client-ip.ts";
import { createCounterStore, type Counter, type Quota } from "./rate-limit-store.ts";

export { createRateLimitRedis, waitForRedis } from "./rate-limit-store.ts";

/** `points` requests per `windowS` seconds, in fixed windows that start at a key's first request. */
export type RateLimitPolicy = Quota;
export type RateLimitPolicies = { user: RateLimitPolicy; ip: RateLimitPolicy; authIp: RateLimitPolicy; authEmail: RateLimitPolicy };

/** The names the headers give each policy. */
const POLICY_NAMES: Record<keyof RateLimitPolicies, string> = { user: "user", ip: "ip", authIp: "auth-ip", authEmail: "auth-email" };
const ENV_NAMES: Record<keyof RateLimitPolicies, string> = {
  user: "RATE_LIMIT_USER",
  ip: "RATE_LIMIT_IP",
  authIp: "RATE_LIMIT_AUTH_IP",
  authEmail: "RATE_LIMIT_AUTH_EMAIL",
};

export const DEFAULT_RATE_LIMIT_POLICIES: RateLimitPolicies = {
  user: { points: 600, windowS: 60 },
  ip: { points: 300, windowS: 60 },
  authIp: { points: 20, windowS: 60 },
  authEmail: { points: 5, windowS: 900 },
};

/** "100/60": 100 requests per 60 seconds. Anything else throws, naming `name`. */
export function parseRateLimitPolicy(raw: string, name = "rate limit"): RateLimitPolicy {
  const match = /^\s*([1-9][0-9]{0,8})\s*\/\s*([1-9][0-9]{0,8})\s*$/.exec(raw);
  if (!match) throw new Error(`${name} must be "<requests>/<seconds>" with positive integers, e.g. "100/60"; got "${raw}"`);
  return { points: Number(match[1]), windowS: Number(match[2]) };
}

/** RATE_LIMIT_USER, RATE_LIMIT_IP, RATE_LIMIT_AUTH_IP, RATE_LIMIT_AUTH_EMAIL; unset or empty: the default. */
export function rateLimitPoliciesFromEnv(env: Record<string, string | undefined>): RateLimitPolicies {
  const read = (key: keyof RateLimitPolicies) => {
    const raw = env[ENV_NAMES[key]];
    return raw === undefined || raw === "" ? DEFAULT_RATE_LIMIT_POLICIES[key] : parseRateLimitPolicy(raw, ENV_NAMES[key]);
  };
  return { user: read("user"), ip: read("ip"), authIp: read("authIp"), authEmail: read("authEmail") };
}

export type RateLimitOptions = {
  /** Shared by the replicas; null counts in this process's memory only. Build it with createRateLimitRedis(). */
  redis: Redis | null;
  /** Redis keys are `<prefix>:<policy>:<key>`. */
  prefix?: string;
  policies?: Partial<RateLimitPolicies>;
  /** Whose X-Forwarded-For to believe; defaults to nobody's. */
  trustedProxies?: TrustedProxies;
  logger: Logger;
  remoteAddress?: ClientIpOptions["remoteAddress"];
};

export type RateLimits = {
  /** Per user when `identity` is set (mount it after authenticate()), else per client IP. */
  general: MiddlewareHandler<{ Variables: AuthVariables }>;
  /** For POST /auth/login and /auth/register: per client IP, and per the body's email. Other methods pass. */
  auth: MiddlewareHandler;
  /** Quits the Redis connection. */
  close(): Promise<void>;
};

export const DEFAULT_RATE_LIMIT_PREFIX = "bff:rate-limit";

type Applied = { name: string; quota: Quota; remaining: number; resetS: number };

// What the limits applied so far to a request; lets two of them on one route (general and auth) share the headers.
const appliedTo = new WeakMap<Context, Applied[]>();

function headersOf(applied: Applied[]): Record<string, string> {
  return {
    "RateLimit-Policy": applied.map((a) => `"${a.name}";q=${a.quota.points};w=${a.quota.windowS}`).join(", "),
    RateLimit: applied.map((a) => `"${a.name}";r=${a.remaining};t=${a.resetS}`).join(", "),
  };
}

/** Counts the request against one policy's key and records it for the headers; past the quota, throws the 429. */
async function enforce(c: Context, { name, quota, counter, key }: { name: string; quota: Quota; counter: Counter; key: string }) {
  const hit = await counter.hit(key);
  const resetS = Math.ceil(hit.resetMs / 1000);
  const applied = appliedTo.get(c) ?? [];
  appliedTo.set(c, applied);
  applied.push({ name, quota, remaining: hit.remaining, resetS });
  if (hit.allowed) return;
  const retryAfterS = Math.max(1, resetS);
  throw new AppError(429, "RATE_LIMITED", `too many requests (limit "${name}"); retry in ${retryAfterS} s`, {
    headers: { ...headersOf(applied), "Retry-After": String(retryAfterS) },
  });
}

/** After the route answered, on whatever it answered (its own response, or the error handler's). */
function setHeaders(c: Context) {
  const applied = appliedTo.get(c);
  if (!applied?.length) return;
  for (const [name, value] of Object.entries(headersOf(applied))) c.header(name, value);
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i; // what Hono's json validator accepts

/**
 * The email of a login or registration body, trimmed and lower-cased; null when there is none to count. Hono
 * caches the body it read, so the route's validator still sees it (and answers a malformed one with its 400).
 */
async function emailOf(c: Context): Promise<string | null> {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
  if (!JSON_MEDIA_TYPE.test(mediaType)) return null;
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return null;
  }
  const email = typeof body === "object" && body !== null ? (body as { email?: unknown }).email : undefined;
  if (typeof email !== "string") return null;
  const normalized = email.trim().toLowerCase();
  return normalized === "" ? null : normalized;
}

// Redis keys hold a digest, not the address: no personal data in Redis, and a bounded key however long the input.
const emailKey = (email: string) => new Bun.CryptoHasher("sha256").update(email).digest("hex");

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const policies = { ...DEFAULT_RATE_LIMIT_POLICIES, ...options.policies };
  const trusted = options.trustedProxies ?? parseTrustedProxies(undefined);
  const store = createCounterStore({ redis: options.redis, prefix: options.prefix ?? DEFAULT_RATE_LIMIT_PREFIX, logger: options.logger });
  const limit = (policy: keyof RateLimitPolicies, batched = false) => {
    const name = POLICY_NAMES[policy];
    const quota = policies[policy];
    const counter = store.counter(name, quota, { batched });
    return { counter, on: (key: string) => ({ name, quota, counter, key }) };
  };
  // The general limits are batched far from their quota (one Redis call per key per 100 ms, not per request);
  // login and registration, whose quotas are a few attempts, count every attempt in Redis first.
  const user = limit("user", true);
  const ip = limit("ip", true);
  const authIp = limit("authIp");
  const authEmail = limit("authEmail");
  const ipOf = (c: Context) => addressBlock(clientIp(c, trusted, { remoteAddress: options.remoteAddress }));

  const general = createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    // undefined when authenticate() is not mounted before this: counted as anonymous.
    const identity = c.get("identity") ?? null;
    await enforce(c, identity ? user.on(identity.sub) : ip.on(ipOf(c)));
    await next();
    setHeaders(c);
  });

  const auth = createMiddleware(async (c, next) => {
    // Only attempts count: mounted with app.use(path), this also sees other methods, which it lets through.
    if (c.req.method !== "POST") return next();
    // The IP first: a refused address costs no body read and does not count against the email it names.
    await enforce(c, authIp.on(ipOf(c)));
    const email = await emailOf(c);
    const key = email === null ? null : emailKey(email);
    if (key !== null) await enforce(c, authEmail.on(key));
    await next();
    // Signed in (or registered): the failures before it were the user's own typos, not an attack to remember.
    if (key !== null && c.res.status >= 200 && c.res.status < 300) await authEmail.counter.reset(key);
    setHeaders(c);
  });

  return { general, auth, close: () => store.close() };
}
