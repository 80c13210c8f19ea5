// The users app over a fresh, migrated test database, with its own signing key and a low password cost, and
// helpers to call it and read its tokens. Each suite builds its own and drops it afterwards.
import { fileURLToPath } from "node:url";
import { generateKeyPairPem, loadPublicKeys, loadSigningKey } from "@storefront/shared/auth/keys";
import { localKeys } from "@storefront/shared/auth/remote-keys";
import { createTokenSigner } from "@storefront/shared/auth/token-signer";
import { createTokenVerifier } from "@storefront/shared/auth/token-verifier";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { createApp } from "../app.ts";
import type { PasswordCost } from "../passwords.ts";
import type { Ttls } from "../sessions.ts";

export const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

/** Cheap enough for tests; the seeded hashes keep the default cost until a login rehashes them. */
export const LOW_COST: PasswordCost = { memoryCost: 1024, timeCost: 1 };
// No reuse window by default: the tests of rotation see every second use as a replay (auth-refresh.test.ts tests the window).
export const DEFAULT_TTLS: Ttls = { accessS: 900, refreshS: 2_592_000, serviceS: 300, reuseS: 0 };
export const SEED_PASSWORD = "storefront-demo";

export type Answer = { status: number; body: any; headers: Headers };

export async function createUsersTestApp(
  options: { prefix?: string; password?: PasswordCost; ttls?: Partial<Ttls>; now?: () => number; serviceClients?: Record<string, string>; retiredKeys?: number } = {},
) {
  const db = await createTestDatabase(options.prefix ?? "users");
  await migrate(db.sql, migrations);
  const key = await loadSigningKey((await generateKeyPairPem()).privatePem);
  const retired = await Promise.all(Array.from({ length: options.retiredKeys ?? 0 }, () => generateKeyPairPem()));
  const retiredKeys = await loadPublicKeys(retired.map((k) => k.publicPem).join("\n"));
  const publishedKeys = [key.publicJwk, ...retiredKeys];
  const signer = createTokenSigner(key, options.now);
  const verifier = createTokenVerifier({ keys: await localKeys(publishedKeys), now: options.now });
  const ttls = { ...DEFAULT_TTLS, ...options.ttls };
  const app = createApp({
    sql: db.sql,
    signer,
    publishedKeys,
    verifier,
    password: options.password ?? LOW_COST,
    ttls,
    serviceClients: new Map(Object.entries(options.serviceClients ?? {})),
    now: options.now,
  });

  /** `body` is sent as JSON; a string is sent as it is with a JSON content type (for malformed bodies). */
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };

  const login = (email: string, password = SEED_PASSWORD) => call("POST", "/auth/login", { email, password });
  /** Logs in and returns the pair, failing the test on anything but a 200. */
  const session = async (email: string, password = SEED_PASSWORD) => {
    const answer = await login(email, password);
    if (answer.status !== 200) throw new Error(`login of ${email}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as { access_token: string; refresh_token: string; expires_in: number; token_type: string };
  };
  const refresh = (refresh_token: string) => call("POST", "/auth/refresh", { refresh_token });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  return { db, app, key, signer, verifier, publishedKeys, retired, ttls, call, login, session, refresh, bearer, drop: db.drop };
}

export type UsersTestApp = Awaited<ReturnType<typeof createUsersTestApp>>;

/** A JWT's header and claims, unverified: for checking what was signed, after a verifier accepted it. */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")));
  return { header, claims };
}

/** The errors are all one envelope: `{error: {code, message}}` and nothing else. */
export const isEnvelope = (body: unknown, code: string) =>
  typeof body === "object" &&
  body !== null &&
  Object.keys(body).join() === "error" &&
  (body as { error: { code: unknown; message: unknown } }).error.code === code &&
  typeof (body as { error: { message: unknown } }).error.message === "string";
