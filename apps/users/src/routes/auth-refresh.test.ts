import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hashRefreshToken } from "../sessions.ts";
import { createUsersTestApp, decodeJwt, isEnvelope, type UsersTestApp } from "../testing/users-app.ts";

// One clock for the signer, the verifier and the refresh tokens' expiry; tests move it forward.
let clock = Date.parse("2026-06-01T12:00:00Z");
const REFRESH_TTL_S = 3600;

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_refresh", now: () => clock, ttls: { refreshS: REFRESH_TTL_S } });
});
afterAll(() => t.drop());

const expectRefused = (answer: { status: number; body: unknown }) => {
  expect(answer.status).toBe(401);
  expect(isEnvelope(answer.body, "INVALID_CREDENTIALS")).toBe(true);
};

describe("POST /auth/refresh", () => {
  test("rotation: a new pair for the same user; the used refresh token is then refused", async () => {
    const first = await t.session("user1@storefront.test");
    const { status, body, headers } = await t.refresh(first.refresh_token);
    expect(status).toBe(200);
    expect(body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 900, refresh_token: expect.stringMatching(/^rt_/) });
    expect(headers.get("cache-control")).toBe("no-store");
    expect(body.refresh_token).not.toBe(first.refresh_token);
    expect(await t.verifier.verify(body.access_token)).toMatchObject({ sub: "1", role: "customer" });
    expect((await t.refresh(body.refresh_token)).status).toBe(200);
  });

  test("the new refresh token joins the login's family", async () => {
    const first = await t.session("user2@storefront.test");
    const second = (await t.refresh(first.refresh_token)).body;
    const families = await t.db.sql`select distinct family_id from refresh_token where user_id = 2`;
    expect(families).toHaveLength(1);
    expect(second.refresh_token).toBeDefined();
  });

  test("reusing a used refresh token revokes its family: the newest token of the family is refused too", async () => {
    const first = await t.session("user3@storefront.test");
    const second = (await t.refresh(first.refresh_token)).body;
    const third = (await t.refresh(second.refresh_token)).body;
    const otherSession = await t.session("user3@storefront.test"); // another device: another family

    expectRefused(await t.refresh(first.refresh_token));
    expectRefused(await t.refresh(third.refresh_token));
    expect((await t.refresh(otherSession.refresh_token)).status).toBe(200);
  });

  test("two concurrent refreshes with one token: exactly one 200; the loser counts as a replay and ends the family", async () => {
    const { refresh_token } = await t.session("user4@storefront.test");
    const answers = await Promise.all([t.refresh(refresh_token), t.refresh(refresh_token)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
    const [used] = await t.db.sql`select count(*)::int as n from refresh_token where user_id = 4 and used_at is not null`;
    expect(used!.n).toBe(1);
    // The server cannot tell a second tab from a thief: the winner's new token is revoked with its family.
    expectRefused(await t.refresh(answers.find((a) => a.status === 200)!.body.refresh_token));
  });

  test("the role in the new access token is read from the table, not copied from the old token", async () => {
    const registered = await t.call("POST", "/auth/register", { email: "courier@example.com", password: "deliver-it-fast", name: "Courier" });
    const { refresh_token } = await t.session("courier@example.com", "deliver-it-fast");
    await t.db.sql`update app_user set role = 'courier' where id = ${registered.body.user_id}`;
    const { body } = await t.refresh(refresh_token);
    expect(decodeJwt(body.access_token).claims.role).toBe("courier");
  });

  test("an expired refresh token: 401, and one second before expiry it still works", async () => {
    const a = await t.session("user5@storefront.test");
    const b = await t.session("user5@storefront.test");
    clock += (REFRESH_TTL_S - 1) * 1000;
    expect((await t.refresh(a.refresh_token)).status).toBe(200);
    clock += 1000;
    expectRefused(await t.refresh(b.refresh_token));
  });

  test("an unknown token and garbage: 401 with the same body", async () => {
    const unknown = await t.refresh(`rt_${"A".repeat(43)}`);
    const garbage = await t.refresh("garbage");
    expectRefused(unknown);
    expect(garbage.body).toEqual(unknown.body);
  });

  for (const [what, body] of [
    ["a missing token", {}],
    ["a number", { refresh_token: 42 }],
    ["an empty string", { refresh_token: "" }],
    ["a 10 kB token", { refresh_token: "x".repeat(10_000) }],
    ["malformed JSON", "{"],
  ] as const) {
    test(`${what}: 400 BAD_REQUEST`, async () => {
      const answer = await t.call("POST", "/auth/refresh", body);
      expect(answer.status).toBe(400);
      expect(isEnvelope(answer.body, "BAD_REQUEST")).toBe(true);
    });
  }
});

describe("POST /auth/refresh with a reuse window (REFRESH_TOKEN_REUSE_S)", () => {
  const REUSE_S = 10;
  let w: UsersTestApp;
  beforeAll(async () => {
    w = await createUsersTestApp({ prefix: "users_refresh_reuse", now: () => clock, ttls: { refreshS: REFRESH_TTL_S, reuseS: REUSE_S } });
  });
  afterAll(() => w.drop());

  test("two concurrent refreshes with one token (two replicas, two tabs): both 200 with tokens of their own, and the session goes on", async () => {
    const { refresh_token } = await w.session("user1@storefront.test");
    const answers = await Promise.all([w.refresh(refresh_token), w.refresh(refresh_token)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const [a, b] = answers.map((x) => x.body.refresh_token as string);
    expect(a).not.toBe(b);
    const families = await w.db.sql`select count(distinct family_id)::int as n from refresh_token where token_hash in ${w.db.sql([a!, b!].map((token) => hashRefreshToken(token)))}`;
    expect(families[0]!.n).toBe(1);
    for (const token of [a, b]) expect((await w.refresh(token!)).status).toBe(200);
  });

  test("presented again within the window: a new pair; one second after it: a replay that ends the family", async () => {
    const first = await w.session("user2@storefront.test");
    const second = (await w.refresh(first.refresh_token)).body;
    clock += (REUSE_S - 1) * 1000;
    const again = await w.refresh(first.refresh_token);
    expect(again.status).toBe(200);
    clock += 2000; // first was used REUSE_S + 1 s ago
    expectRefused(await w.refresh(first.refresh_token));
    expectRefused(await w.refresh(second.refresh_token));
    expectRefused(await w.refresh(again.body.refresh_token));
  });

  test("a token of a revoked family (logged out) is refused even within the window", async () => {
    const first = await w.session("user3@storefront.test");
    expect((await w.refresh(first.refresh_token)).status).toBe(200);
    await w.db.sql`update refresh_token set revoked_at = ${new Date(clock)} where user_id = 3`;
    expectRefused(await w.refresh(first.refresh_token));
  });
});
