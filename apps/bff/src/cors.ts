// CORS for browsers on other origins: only the origins in CORS_ORIGINS; none by default (same origin only).
import { cors } from "hono/cors";

export const parseOrigins = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      const url = new URL(o); // throws on a malformed origin: a setting to fix at start-up
      if (url.origin !== o.replace(/\/$/, "")) throw new Error(`CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);
      return url.origin;
    });

export const corsFor = (origins: readonly string[]) =>
  cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["authorization", "content-type", "idempotency-key", "x-request-id"],
    exposeHeaders: ["ratelimit", "ratelimit-policy", "retry-after", "server-timing", "x-request-id", "location", "idempotent-replayed"],
    maxAge: 600,
  });
