import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUsersTestApp, isEnvelope, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_logout", serviceClients: { worker: "worker-secret-123" } });
});
afterAll(() => t.drop());

describe("POST /auth/logout", () => {
  test("204; afterwards every refresh token of that user is refused, others' are not", async () => {
    const phone = await t.session("user1@storefront.test");
    const laptop = await t.session("user1@storefront.test");
    const rotated = (await t.refresh(laptop.refresh_token)).body;
    const someoneElse = await t.session("user2@storefront.test");

    const res = await t.call("POST", "/auth/logout", undefined, t.bearer(phone.access_token));
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();

    for (const token of [phone.refresh_token, rotated.refresh_token]) {
      const answer = await t.refresh(token);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe("INVALID_CREDENTIALS");
    }
    expect((await t.refresh(someoneElse.refresh_token)).status).toBe(200);
  });

  test("logging out twice is still 204", async () => {
    const { access_token } = await t.session("user3@storefront.test");
    expect((await t.call("POST", "/auth/logout", undefined, t.bearer(access_token))).status).toBe(204);
    expect((await t.call("POST", "/auth/logout", undefined, t.bearer(access_token))).status).toBe(204);
  });

  test("without a token: 401 UNAUTHENTICATED with WWW-Authenticate", async () => {
    const { status, body, headers } = await t.call("POST", "/auth/logout");
    expect(status).toBe(401);
    expect(isEnvelope(body, "UNAUTHENTICATED")).toBe(true);
    expect(headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test("with a malformed token: 401 with an invalid_token challenge", async () => {
    const { status, headers } = await t.call("POST", "/auth/logout", undefined, t.bearer("not.a.token"));
    expect(status).toBe(401);
    expect(headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("with a service token: 403, a service has no session to end", async () => {
    const { body } = await t.call("POST", "/auth/service-token", { client_id: "worker", client_secret: "worker-secret-123" });
    const answer = await t.call("POST", "/auth/logout", undefined, t.bearer(body.access_token));
    expect(answer.status).toBe(403);
    expect(isEnvelope(answer.body, "FORBIDDEN")).toBe(true);
  });
});
