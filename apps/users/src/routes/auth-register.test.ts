import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUsersTestApp, isEnvelope, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_register" });
});
afterAll(() => t.drop());

const register = (body: unknown) => t.call("POST", "/auth/register", body);
const accounts = async () => (await t.db.sql<{ n: number }[]>`select count(*)::int as n from app_user`)[0]!.n;

describe("POST /auth/register", () => {
  test("201 with the new account: email trimmed and lowercased, name trimmed, id past the seed, role customer", async () => {
    const { status, body, headers } = await register({ email: "  Ada.Lovelace@Example.COM ", password: "analytical-engine", name: "  Ada Lovelace " });
    expect(status).toBe(201);
    expect(body).toEqual({ user_id: expect.any(Number), email: "ada.lovelace@example.com", name: "Ada Lovelace" });
    expect(body.user_id).toBeGreaterThanOrEqual(7);
    expect(headers.get("location")).toBe(`/users/${body.user_id}`);
    const [row] = await t.db.sql`select role, password_hash from app_user where id = ${body.user_id}`;
    expect(row!.role).toBe("customer");
    expect(row!.password_hash).toStartWith("$argon2id$v=19$m=1024,t=1,");
  });

  test("the new account can log in, with role customer in its token", async () => {
    await register({ email: "grace@example.com", password: "cobol-compiler", name: "Grace" });
    const { access_token } = await t.session("GRACE@example.com", "cobol-compiler");
    const identity = await t.verifier.verify(access_token);
    expect(identity.role).toBe("customer");
  });

  test("the same email in another case is 409 EMAIL_TAKEN, and the first account is untouched", async () => {
    expect((await register({ email: "alan@example.com", password: "turing-machine", name: "Alan" })).status).toBe(201);
    const before = await accounts();
    const again = await register({ email: "ALAN@Example.com", password: "other-password", name: "Impostor" });
    expect(again.status).toBe(409);
    expect(isEnvelope(again.body, "EMAIL_TAKEN")).toBe(true);
    expect(await accounts()).toBe(before);
    expect((await t.login("alan@example.com", "turing-machine")).status).toBe(200);
  });

  test("a seeded email is taken too", async () => {
    const { status, body } = await register({ email: "User1@storefront.test", password: "long-enough-1", name: "Copy" });
    expect(status).toBe(409);
    expect(body.error.code).toBe("EMAIL_TAKEN");
  });

  test("two concurrent registrations of one email: exactly one 201 and one 409", async () => {
    const body = { email: "race@example.com", password: "ten-chars-at-least", name: "Racer" };
    const answers = await Promise.all([register(body), register({ ...body, email: "RACE@example.com" })]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)!.body.error.code).toBe("EMAIL_TAKEN");
    const [row] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from app_user where lower(email) = 'race@example.com'`;
    expect(row!.n).toBe(1);
  });

  const valid = { email: "valid@example.com", password: "ten-chars-ok", name: "Valid" };
  const bad: [string, unknown][] = [
    ["a malformed email", { ...valid, email: "not-an-email" }],
    ["an email over 254 characters", { ...valid, email: `${"a".repeat(250)}@example.com` }],
    ["a password under 10 characters", { ...valid, password: "nine-char" }],
    ["a password over 256 characters", { ...valid, password: "p".repeat(257) }],
    ["an empty name", { ...valid, name: "   " }],
    ["a name over 100 characters", { ...valid, name: "n".repeat(101) }],
    ["a missing email", { password: valid.password, name: valid.name }],
    ["a missing password", { email: valid.email, name: valid.name }],
    ["a missing name", { email: valid.email, password: valid.password }],
    ["an extra field (role)", { ...valid, role: "admin" }],
    ["a number for the email", { ...valid, email: 42 }],
    ["an array body", [valid]],
    ["malformed JSON", '{"email": "valid@example.com",'],
  ];
  for (const [what, body] of bad) {
    test(`${what}: 400 BAD_REQUEST in the envelope, nothing written`, async () => {
      const before = await accounts();
      const answer = await register(body);
      expect(answer.status).toBe(400);
      expect(isEnvelope(answer.body, "BAD_REQUEST")).toBe(true);
      expect(await accounts()).toBe(before);
    });
  }

  test("no body at all: 400", async () => {
    const res = await t.app.request("/auth/register", { method: "POST" });
    expect(res.status).toBe(400);
    expect(isEnvelope(await res.json(), "BAD_REQUEST")).toBe(true);
  });

  test("exactly 10 and exactly 256 password characters, 100 name characters are accepted", async () => {
    expect((await register({ email: "edge1@example.com", password: "p".repeat(10), name: "n".repeat(100) })).status).toBe(201);
    expect((await register({ email: "edge2@example.com", password: "p".repeat(256), name: "N" })).status).toBe(201);
  });
});
