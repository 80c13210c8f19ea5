import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createUsersTestApp, isEnvelope, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_read" });
});
afterAll(() => t.drop());

const token = (sub: number, role: "customer" | "admin" | "courier" = "customer") => t.signer.sign({ sub: String(sub), role }, 300);
const getUser = async (id: string | number, headers: Record<string, string> = {}) => t.call("GET", `/users/${id}`, undefined, headers);

describe("GET /users/:id", () => {
  test("one's own account: 200 with id, email, name and role, never the password hash", async () => {
    const { access_token } = await t.session("user1@storefront.test");
    const { status, body } = await getUser(1, t.bearer(access_token));
    expect(status).toBe(200);
    expect(body).toEqual({ user_id: 1, email: "user1@storefront.test", name: "User 1", role: "customer" });
  });

  test("another user's account: 403 FORBIDDEN and none of their data", async () => {
    const { status, body } = await getUser(2, t.bearer(await token(1)));
    expect(status).toBe(403);
    expect(isEnvelope(body, "FORBIDDEN")).toBe(true);
    expect(JSON.stringify(body)).not.toContain("user2@");
  });

  test("an admin reads anyone", async () => {
    const { access_token } = await t.session("admin@storefront.test");
    const { status, body } = await getUser(4, t.bearer(access_token));
    expect(status).toBe(200);
    expect(body.email).toBe("user4@storefront.test");
  });

  test("an admin asking for an account that does not exist: 404", async () => {
    const { status, body } = await getUser(999_999, t.bearer(await token(6, "admin")));
    expect(status).toBe(404);
    expect(isEnvelope(body, "NOT_FOUND")).toBe(true);
  });

  test("an admin with an id that is not one: 400", async () => {
    for (const id of ["abc", "0", "01", "99999999999"]) {
      const { status, body } = await getUser(id, t.bearer(await token(6, "admin")));
      expect(status).toBe(400);
      expect(isEnvelope(body, "BAD_REQUEST")).toBe(true);
    }
  });

  test("without a token: 401 UNAUTHENTICATED with WWW-Authenticate", async () => {
    const { status, body, headers } = await getUser(1);
    expect(status).toBe(401);
    expect(isEnvelope(body, "UNAUTHENTICATED")).toBe(true);
    expect(headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test("a token signed by another key (same claims): 401", async () => {
    const stranger = await createTestIssuer();
    const { status, body, headers } = await getUser(1, await stranger.auth(1));
    expect(status).toBe(401);
    expect(body.error.code).toBe("UNAUTHENTICATED");
    expect(headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("an expired token of ours: 401", async () => {
    const expired = await t.signer.sign({ sub: "1", role: "customer" }, -60);
    expect((await getUser(1, t.bearer(expired))).status).toBe(401);
  });
});
