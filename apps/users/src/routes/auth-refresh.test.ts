import { afterAll, beforeAll, describe, expect, test } from "bun:test";
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
