import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUsersTestApp, decodeJwt, isEnvelope, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({
    prefix: "users_service_token",
    ttls: { serviceS: 120 },
    serviceClients: { notifications: "notifications-secret-0123456789", orders: "orders=secret-with-equals" },
  });
});
afterAll(() => t.drop());

const exchange = (client_id: unknown, client_secret: unknown) => t.call("POST", "/auth/service-token", { client_id, client_secret });

describe("POST /auth/service-token", () => {
  test("a known client: a token with role service, sub = client id, valid serviceS seconds, and no refresh token", async () => {
    const { status, body, headers } = await exchange("notifications", "notifications-secret-0123456789");
    expect(status).toBe(200);
    expect(body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 120 });
    expect(headers.get("cache-control")).toBe("no-store");
    expect(await t.verifier.verify(body.access_token)).toMatchObject({ sub: "notifications", role: "service", userId: null });
    const { claims } = decodeJwt(body.access_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);
  });

  test("a secret may contain '=' (only the first one separates the id)", async () => {
    expect((await exchange("orders", "orders=secret-with-equals")).status).toBe(200);
  });

  test("the service token reads any user", async () => {
    const { body } = await exchange("notifications", "notifications-secret-0123456789");
    const user = await t.call("GET", "/users/3", undefined, t.bearer(body.access_token));
    expect(user.status).toBe(200);
    expect(user.body.email).toBe("user3@storefront.test");
  });

  test("a wrong secret, another client's secret and an unknown client all get the same 401 INVALID_CREDENTIALS", async () => {
    const wrong = await exchange("notifications", "notifications-secret-012345678");
    const others = await exchange("notifications", "orders=secret-with-equals");
    const unknown = await exchange("billing", "notifications-secret-0123456789");
    expect(wrong.status).toBe(401);
    expect(isEnvelope(wrong.body, "INVALID_CREDENTIALS")).toBe(true);
    expect(others).toMatchObject({ status: 401, body: wrong.body });
    expect(unknown).toMatchObject({ status: 401, body: wrong.body });
  });

  test("a missing or non-string field: 400", async () => {
    expect((await t.call("POST", "/auth/service-token", { client_id: "notifications" })).status).toBe(400);
    expect((await exchange("notifications", 7)).status).toBe(400);
  });

  test("with no clients configured every exchange is refused", async () => {
    const bare = await createUsersTestApp({ prefix: "users_no_clients" });
    try {
      const answer = await bare.call("POST", "/auth/service-token", { client_id: "notifications", client_secret: "anything" });
      expect(answer.status).toBe(401);
    } finally {
      await bare.drop();
    }
  });
});
