// The web app's settings from the environment (index.ts reads them; nothing else touches process.env).
import { intFromEnv, upstreamFromEnv } from "@storefront/shared/config";

type Env = Record<string, string | undefined>;

export const DEFAULT_PORT = 3000;
export const DEFAULT_BFF_URL = "http://127.0.0.1:9000";

/**
 * Whether the session cookies are Secure (and __Host- prefixed): WEB_SECURE_COOKIES when set ("true"/"1" or
 * "false"/"0"); otherwise Secure exactly when NODE_ENV is "production". So `bun run dev` over plain
 * http://localhost works, and a production deployment is Secure unless it says otherwise.
 */
export function secureCookiesFromEnv(env: Env): boolean {
  const raw = env.WEB_SECURE_COOKIES?.trim().toLowerCase();
  if (raw === undefined || raw === "") return env.NODE_ENV === "production";
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new Error(`WEB_SECURE_COOKIES must be true, false, 1 or 0; got "${env.WEB_SECURE_COOKIES}"`);
}

/**
 * A development run: NODE_ENV is not "production" and the cookies are not Secure (so not behind HTTPS). Both
 * must say so; then /status and its switches are open to every visitor, not only to admins (the BFF and
 * inventory still decide whether a switch is taken: admin token, INVENTORY_CHAOS_SWITCHES=1).
 */
export function developmentFromEnv(env: Env): boolean {
  return env.NODE_ENV !== "production" && !secureCookiesFromEnv(env);
}

export function webSettings(env: Env) {
  return {
    port: intFromEnv(env, "PORT", DEFAULT_PORT),
    bffUrl: upstreamFromEnv(env, "BFF_URL", DEFAULT_BFF_URL),
    secureCookies: secureCookiesFromEnv(env),
    development: developmentFromEnv(env),
  };
}
