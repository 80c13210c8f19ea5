import { beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { createServiceApp } from "../service-app.ts";
import { createTestIssuer, type TestIssuer } from "../testing/token-issuer.ts";
import { authenticate, identityOf, requireRole, requireSelf, userOf } from "./authenticate.ts";
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, type AuthVariables } from "./identity.ts";
import { KeysUnavailableError, type TokenVerifier } from "./token-verifier.ts";

/** A small service with one route of each kind the guards protect. */
function createApp(verifier: TokenVerifier) {
  const app = createServiceApp<AuthVariables>({ service: "test", ready: async () => {} });
  app.use(authenticate(verifier));
  app.get("/anonymous", (c) => c.json({ identity: c.get("identity") }));
  app.get("/me", (c) => c.json(identityOf(c)));
  app.get("/cart", (c) => c.json({ userId: userOf(c) }));
  app.get("/admin", requireRole("admin"), (c) => c.json({ ok: true }));
  app.get("/users/:id/x", requireSelf(), (c) => c.json({ ok: true }));
  return app;
}

let issuer: TestIssuer;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  issuer = await createTestIssuer();
  app = createApp(issuer.verifier);
});

const get = (path: string, authorization?: string) => app.request(path, { headers: authorization === undefined ? {} : { authorization } });
const bearer = async (sub: string | number, role: Parameters<TestIssuer["token"]>[1] = "customer") => `Bearer ${await issuer.token(sub, role)}`;

/** RFC 6750's error_description: printable ASCII without `"` and `\`, so the quoted string cannot be broken out of. */
const INVALID_TOKEN_CHALLENGE = /^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$/;

async function expectUnauthenticated(res: Response) {
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("UNAUTHENTICATED");
  expect(body.error.message).not.toBe("");
  return { body, challenge: res.headers.get("www-authenticate") };
}

describe("without an Authorization header", () => {
  test("the identity is null and an anonymous route works", async () => {
    const res = await get("/anonymous");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ identity: null });
  });

  test("a route that needs a caller answers 401 UNAUTHENTICATED with a bare Bearer challenge", async () => {
    const { body, challenge } = await expectUnauthenticated(await get("/me"));
    expect(challenge).toBe("Bearer");
    expect(body.error.message).toContain("Authorization: Bearer");
  });

  test("every guard answers 401, not 403, to a caller without a token", async () => {
    for (const path of ["/cart", "/admin", "/users/1/x"]) await expectUnauthenticated(await get(path));
  });
});

describe("with a valid Bearer token", () => {
  test("the identity is the token's", async () => {
    const authorization = await bearer(42);
    const res = await get("/me", authorization);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: "42", role: "customer", userId: 42, token: authorization.slice("Bearer ".length) });
  });

  test("the scheme is case-insensitive: lowercase bearer is accepted", async () => {
    const token = await issuer.token(42);
    for (const scheme of ["bearer", "BEARER"]) {
      const res = await get("/me", `${scheme} ${token}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { sub: string }).sub).toBe("42");
    }
  });

  test("userOf gives a customer's id, and refuses a service token with 403: it has no user", async () => {
    expect(await (await get("/cart", await bearer(42))).json()).toEqual({ userId: 42 });
    const res = await get("/cart", await bearer("notifications", "service"));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
  });
});

describe("a header that is not a valid Bearer token is a 401, even on an anonymous route", () => {
  test("Basic credentials: 401 with error=invalid_token", async () => {
    const { challenge } = await expectUnauthenticated(await get("/anonymous", "Basic dXNlcjpwYXNz"));
    expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
    expect(challenge).toContain("must be a Bearer token");
  });

  for (const header of ["Bearer", "Bearer ", "Token abc", "Bearer a b", "Bearer a,b", 'Bearer "abc"', "Bearerabc"]) {
    test(`${JSON.stringify(header)}: 401 with error=invalid_token`, async () => {
      const { challenge } = await expectUnauthenticated(await get("/anonymous", header));
      expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
    });
  }

  test("Bearer with a token that does not verify: 401 with error=invalid_token and the reason", async () => {
    const { body, challenge } = await expectUnauthenticated(await get("/anonymous", "Bearer not.a.token"));
    expect(body.error.message).toBe("the token is malformed");
    expect(challenge).toBe('Bearer error="invalid_token", error_description="the token is malformed"');
  });

  test("Bearer with a token from another issuer's key: 401", async () => {
    const stranger = await createTestIssuer();
    const { challenge } = await expectUnauthenticated(await get("/me", `Bearer ${await stranger.token(42)}`));
    expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
  });

  test("an expired token on an anonymous route: 401, so the client learns to renew it", async () => {
    let time = Date.parse("2026-11-22T12:00:00Z");
    const clocked = await createTestIssuer({ now: () => time });
    const token = await clocked.token(42, "customer", 60);
    time += 3_600_000;
    const { body } = await expectUnauthenticated(await createApp(clocked.verifier).request("/anonymous", { headers: { authorization: `Bearer ${token}` } }));
    expect(body.error.message).toBe("the token has expired");
  });
});

describe("the error_description cannot break out of the WWW-Authenticate header", () => {
  // The kid is the attacker's to choose, and the verifier's message names it.
  const kids = ['a"b', 'x", error="insufficient_scope', "back\\slash\\", "line\r\nSet-Cookie: session=stolen", "tab\there", "café ☕ 鍵", "\u0000nul"];
  for (const kid of kids) {
    test(`a token with kid ${JSON.stringify(kid)}: 401 with a well-formed challenge`, async () => {
      const token = await new SignJWT({ role: "customer" })
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject("42")
        .setIssuedAt()
        .setNotBefore("0s")
        .setExpirationTime("15m")
        .sign(issuer.key.privateKey);
      const res = await get("/me", `Bearer ${token}`);
      const { body, challenge } = await expectUnauthenticated(res);
      expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(body.error.message).toContain("is not one of ours");
    });
  }
});

describe("keys that cannot be had are the server's problem, not the caller's", () => {
  test("keys unavailable: 503 AUTH_UNAVAILABLE with retry-after", async () => {
    const down = createApp({
      verify: async () => {
        throw new KeysUnavailableError("the users service's keys could not be fetched: connection refused");
      },
    });
    const res = await down.request("/anonymous", { headers: { authorization: await bearer(42) } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("www-authenticate")).toBeNull();
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("AUTH_UNAVAILABLE");
    expect(body.error.message).not.toContain("connection refused"); // the cause is for the log, not the client
  });

  test("keys unavailable does not matter to a caller without a token", async () => {
    const down = createApp({
      verify: async () => {
        throw new KeysUnavailableError("down");
      },
    });
    expect((await down.request("/anonymous")).status).toBe(200);
  });
});

describe("requireRole", () => {
  test("a customer is refused with 403 FORBIDDEN", async () => {
    const res = await get("/admin", await bearer(42));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "FORBIDDEN", message: "this route is for admin only" } });
  });

  test("a service is refused with 403 FORBIDDEN: acting for any user is not being an admin", async () => {
    expect((await get("/admin", await bearer("notifications", "service"))).status).toBe(403);
  });

  test("an admin is let through", async () => {
    const res = await get("/admin", await bearer(1, "admin"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});

describe("requireSelf on /users/:id/x", () => {
  test("a customer on their own id: 200", async () => {
    expect((await get("/users/42/x", await bearer(42))).status).toBe(200);
  });

  test("a customer on another user's id: 403 FORBIDDEN", async () => {
    const res = await get("/users/43/x", await bearer(42));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
  });

  test("a courier on another user's id: 403", async () => {
    expect((await get("/users/43/x", await bearer(42, "courier"))).status).toBe(403);
  });

  test("the id must be the same string: a padded id is another user's", async () => {
    expect((await get("/users/042/x", await bearer(42))).status).toBe(403);
  });

  test("an admin on any user's id: 200", async () => {
    expect((await get("/users/43/x", await bearer(1, "admin"))).status).toBe(200);
  });

  test("a service on any user's id: 200", async () => {
    expect((await get("/users/43/x", await bearer("notifications", "service"))).status).toBe(200);
  });
});
