import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from "@storefront/shared/auth/identity";
import { localKeys } from "@storefront/shared/auth/remote-keys";
import { createTokenVerifier } from "@storefront/shared/auth/token-verifier";
import { createUsersTestApp, decodeJwt, isEnvelope, SEED_PASSWORD, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_login", ttls: { accessS: 600 } });
});
afterAll(() => t.drop());

/** A verifier that knows only what the app publishes, as every other app's would. */
async function publishedVerifier() {
  const { body } = await t.call("GET", "/.well-known/jwks.json");
  return createTokenVerifier({ keys: await localKeys(body.keys) });
}

describe("POST /auth/login", () => {
  test("a seeded user: 200 with a Bearer pair; the access token verifies against the published keys", async () => {
    const { status, body, headers } = await t.login("user1@storefront.test");
    expect(status).toBe(200);
    expect(body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 600, refresh_token: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/) });
    expect(headers.get("cache-control")).toBe("no-store");

    const identity = await (await publishedVerifier()).verify(body.access_token);
    expect(identity).toMatchObject({ sub: "1", role: "customer", userId: 1 });
    const { header, claims } = decodeJwt(body.access_token);
    expect(header).toMatchObject({ alg: "EdDSA", kid: t.signer.kid });
    expect(claims).toMatchObject({ sub: "1", role: "customer", iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
  });

  test("the admin's token carries role admin", async () => {
    const { body } = await t.login("admin@storefront.test");
    expect(await (await publishedVerifier()).verify(body.access_token)).toMatchObject({ sub: "6", role: "admin", userId: 6 });
  });

  test("the email is matched case-insensitively, after trimming", async () => {
    expect((await t.login("  USER2@Storefront.Test ")).status).toBe(200);
  });

  test("only the refresh token's sha-256 is stored, never the token", async () => {
    const { refresh_token } = await t.session("user3@storefront.test");
    const digest = new Bun.CryptoHasher("sha256").update(refresh_token).digest();
    const rows = await t.db.sql`select token_hash from refresh_token where user_id = 3`;
    expect(rows.map((r) => Buffer.from(r.token_hash).equals(digest))).toContain(true);
    const dump = JSON.stringify(await t.db.sql`select * from refresh_token`);
    expect(dump).not.toContain(refresh_token.slice(3));
  });

  test("an unknown email and a wrong password get the identical 401 INVALID_CREDENTIALS", async () => {
    const unknown = await t.login("nobody@storefront.test");
    const wrong = await t.login("user4@storefront.test", "not-the-password");
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(isEnvelope(unknown.body, "INVALID_CREDENTIALS")).toBe(true);
    expect(wrong.body).toEqual(unknown.body);
    expect(await t.db.sql`select 1 from refresh_token where user_id = 4`).toHaveLength(0);
  });

  test("a successful login at a new cost rehashes the stored password; the old password still works", async () => {
    const before = (await t.db.sql`select password_hash from app_user where id = 5`)[0]!.password_hash as string;
    expect(before).toContain("m=19456,t=2");
    await t.session("user5@storefront.test");
    const after = (await t.db.sql`select password_hash from app_user where id = 5`)[0]!.password_hash as string;
    expect(after).toContain("m=1024,t=1");
    expect(await Bun.password.verify(SEED_PASSWORD, after)).toBe(true);
    expect((await t.login("user5@storefront.test")).status).toBe(200);
  });

  test("a failed login does not rehash", async () => {
    await t.login("user4@storefront.test", "still-not-the-password");
    const [row] = await t.db.sql`select password_hash from app_user where id = 4`;
    expect(row!.password_hash).toContain("m=19456,t=2");
  });

  const bad: [string, unknown][] = [
    ["malformed JSON", "{not json"],
    ["a missing password", { email: "user1@storefront.test" }],
    ["a missing email", { password: SEED_PASSWORD }],
    ["an email that is not one", { email: "user1", password: SEED_PASSWORD }],
    ["a huge email", { email: `${"u".repeat(10_000)}@storefront.test`, password: SEED_PASSWORD }],
    ["an empty password", { email: "user1@storefront.test", password: "" }],
    ["an extra field", { email: "user1@storefront.test", password: SEED_PASSWORD, remember: true }],
  ];
  for (const [what, body] of bad) {
    test(`${what}: 400 BAD_REQUEST`, async () => {
      const answer = await t.call("POST", "/auth/login", body);
      expect(answer.status).toBe(400);
      expect(isEnvelope(answer.body, "BAD_REQUEST")).toBe(true);
    });
  }

  test("a stale Authorization header does not get in the way of logging in", async () => {
    const answer = await t.call("POST", "/auth/login", { email: "user1@storefront.test", password: SEED_PASSWORD }, { authorization: "Bearer expired.or.garbage" });
    expect(answer.status).toBe(200);
  });
});
