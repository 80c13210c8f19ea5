import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTokenSigner } from "@storefront/shared/auth/token-signer";
import { loadSigningKey } from "@storefront/shared/auth/keys";
import { createUsersTestApp, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_jwks", retiredKeys: 2 });
});
afterAll(() => t.drop());

describe("GET /.well-known/jwks.json", () => {
  test("lists the current key first, then the retired ones; public parts only; cacheable for 5 minutes", async () => {
    const { status, body, headers } = await t.call("GET", "/.well-known/jwks.json");
    expect(status).toBe(200);
    expect(headers.get("cache-control")).toBe("public, max-age=300");
    expect(body.keys).toHaveLength(3);
    expect(body.keys[0].kid).toBe(t.signer.kid);
    expect(body.keys.map((k: { kid: string }) => k.kid)).toEqual(t.publishedKeys.map((k) => k.kid));
    for (const key of body.keys) {
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: expect.any(String), x: expect.any(String) });
      expect(key).not.toHaveProperty("d");
    }
  });

  test("a token signed with a retired key is still accepted while the key is published", async () => {
    const retiredSigner = createTokenSigner(await loadSigningKey(t.retired[0]!.privatePem));
    const token = await retiredSigner.sign({ sub: "2", role: "customer" }, 300);
    expect((await t.call("GET", "/users/2", undefined, t.bearer(token))).status).toBe(200);
  });

  test("no token is needed", async () => {
    expect((await t.call("GET", "/.well-known/jwks.json", undefined, { authorization: "Bearer garbage" })).status).toBe(200);
  });
});
