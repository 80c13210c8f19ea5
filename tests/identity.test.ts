// Identity end to end, with the real apps as processes: register, log in, refresh and log out through the
// BFF; the user of every route comes from the token alone; each service refuses a caller without a valid
// token, or with another user's, when reached directly (defence in depth); password guessing meets 429;
// and the users service going down does not log out the people who already hold a token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Ports } from "../scripts/apps.ts";
import { freshAuthSecrets, type AuthSecrets } from "../scripts/auth.ts";
import { createTestIssuer } from "../shared/src/testing/token-issuer.ts";
import { requireRedis } from "../shared/src/testing/test-redis.ts";
import { ADMIN_EMAIL, DEMO_PASSWORD, demoEmail, login, newCustomer, type Session } from "./support/accounts.ts";
import { documentedFetch } from "./support/contract.ts";
import type { TestProcess } from "./support/processes.ts";
import { READY_TIMEOUT_MS, freshQueue, freshStorage, pickPorts, startApps, stopAll, type QueueSpace, type Storage } from "./support/stack.ts";

const redisUp = await requireRedis("the rate-limit end-to-end test (limits live in Redis)");

// The users service's reuse window, short so the replay after it is quick to reach.
const REUSE_S = 1;
let ports: Ports;
let storage: Storage | undefined;
let queue: QueueSpace | undefined;
let apps: TestProcess[] = [];
let secrets: AuthSecrets;
let user1: Session;
let user2: Session;
let admin: Session;

// Low enough that the guessing test meets it quickly, high enough that nothing else here does.
const AUTH_EMAIL_LIMIT = 5;

beforeAll(async () => {
  ports = pickPorts();
  storage = await freshStorage("identity");
  queue = freshQueue("identity");
  secrets = await freshAuthSecrets();
  apps = await startApps(ports, { ...storage.env, ...queue.env, RATE_LIMIT_AUTH_EMAIL: `${AUTH_EMAIL_LIMIT}/900`, RATE_LIMIT_AUTH_IP: "200/60", REFRESH_TOKEN_REUSE_S: String(REUSE_S) }, secrets);
  user1 = await login(bffUrl(), demoEmail(1));
  user2 = await login(bffUrl(), demoEmail(2));
  admin = await login(bffUrl(), ADMIN_EMAIL);
}, READY_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await stopAll(apps);
  await queue?.cleanup();
  await storage?.cleanup();
}, 60_000);

const bffUrl = () => `http://127.0.0.1:${ports.bff}`;
const at = (app: keyof Ports, path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${ports[app]}${path}`, init);
const bff = (path: string, init: RequestInit = {}) => documentedFetch(`http://127.0.0.1:${ports.bff}${path}`, init);
const send = (method: string, body?: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: body === undefined ? undefined : JSON.stringify(body),
});
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("accounts through the BFF", () => {
  test("register, log in, and the listing shows the new user's own cart and favorites", async () => {
    const me = await newCustomer(bffUrl(), "newcomer");
    expect(me.userId).toBeGreaterThan(6); // after the seeded users and the admin
    const empty = (await (await bff("/products/all", { headers: me.auth })).json()) as { cart_items: number; favorite_items: number };
    expect([empty.cart_items, empty.favorite_items]).toEqual([0, 0]);

    expect((await bff("/cart", send("POST", { product_id: 2, quantity: 3 }, me.auth))).status).toBe(200);
    expect((await bff("/favorites", send("POST", { product_id: 5 }, me.auth))).ok).toBe(true);
    const mine = (await (await bff("/products/all", { headers: me.auth })).json()) as { cart_items: number; favorite_items: number };
    expect([mine.cart_items, mine.favorite_items]).toEqual([1, 1]);

    const account = await bff("/me", { headers: me.auth });
    expect(account.status).toBe(200);
    expect(await account.json()).toEqual({ user_id: me.userId, email: me.email, name: "newcomer", role: "customer" });
  });

  test("an email is taken whatever its case; a short password or malformed email is a 400", async () => {
    const res = await bff("/auth/register", send("POST", { email: "USER1@Storefront.TEST", password: "long enough password", name: "x" }));
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("EMAIL_TAKEN");
    for (const body of [
      { email: "someone@example.test", password: "short", name: "x" },
      { email: "not-an-email", password: "long enough password", name: "x" },
    ]) {
      const bad = await bff("/auth/register", send("POST", body));
      expect(bad.status).toBe(400);
      expect(await errorCode(bad)).toBe("BAD_REQUEST");
    }
  });

  test("an unknown email and a wrong password get the same 401", async () => {
    const unknown = await bff("/auth/login", send("POST", { email: "nobody@storefront.test", password: DEMO_PASSWORD }));
    const wrong = await bff("/auth/login", send("POST", { email: demoEmail(3), password: "not the password" }));
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(await unknown.json()).toEqual(await wrong.json());
  });

  test("refresh rotates; an old refresh token used again within the reuse window gets a pair of its own, after it revokes the family; logout revokes the rest", async () => {
    const me = await login(bffUrl(), demoEmail(4));
    const rotated = await bff("/auth/refresh", send("POST", { refresh_token: me.refreshToken }));
    expect(rotated.status).toBe(200);
    const pair = (await rotated.json()) as { access_token: string; refresh_token: string };
    expect(pair.refresh_token).not.toBe(me.refreshToken);
    expect((await bff("/me", { headers: { authorization: `Bearer ${pair.access_token}` } })).status).toBe(200);

    // At once (another tab, another replica): a pair of its own.
    expect((await bff("/auth/refresh", send("POST", { refresh_token: me.refreshToken }))).status).toBe(200);
    // Later, replaying the first token looks like theft: it and every token of its family stop working.
    await Bun.sleep(REUSE_S * 1000 + 200);
    expect((await bff("/auth/refresh", send("POST", { refresh_token: me.refreshToken }))).status).toBe(401);
    expect((await bff("/auth/refresh", send("POST", { refresh_token: pair.refresh_token }))).status).toBe(401);

    const again = await login(bffUrl(), demoEmail(4));
    expect((await bff("/auth/logout", send("POST", undefined, again.auth))).status).toBe(204);
    expect((await bff("/auth/refresh", send("POST", { refresh_token: again.refreshToken }))).status).toBe(401);
  });
});

describe("the token is the only identity", () => {
  test("a token signed by another key, or changed, is a 401 at the BFF and at every service", async () => {
    const forger = await createTestIssuer();
    const forged = { authorization: `Bearer ${await forger.token(1)}` };
    const [header, payload, signature] = user2.token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const changed = { authorization: `Bearer ${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "1" })).toString("base64url")}.${signature}` };
    for (const auth of [forged, changed]) {
      for (const [app, path] of [
        ["bff", "/cart"],
        ["bff", "/products/all"],
        ["cart", "/users/1/cart"],
        ["favorites", "/users/1/favorites"],
        ["notifications", "/users/1/notifications"],
        ["users", "/users/1"],
      ] as const) {
        const res = await at(app, path, { headers: auth });
        expect({ app, path, status: res.status }).toEqual({ app, path, status: 401 });
      }
    }
  });

  test("a service port reached directly without a token refuses, and changes nothing", async () => {
    const before = await (await at("inventory", "/products/1/inventory")).json();
    for (const [app, path, init] of [
      ["cart", "/users/1/cart", {}],
      ["cart", "/users/1/cart", send("POST", { product_id: 7 })],
      ["favorites", "/users/1/favorites", {}],
      ["notifications", "/users/1/notifications", {}],
      ["users", "/users/1", {}],
      ["inventory", "/products/1/inventory", send("PUT", { inventory: 999 })],
      ["products", "/products/1", send("PATCH", { price_cents: 1 })],
    ] as const) {
      const res = await at(app, path, init);
      expect({ app, path, status: res.status }).toEqual({ app, path, status: 401 });
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    }
    expect(await (await at("inventory", "/products/1/inventory")).json()).toEqual(before);
  });

  test("user 2's token on user 1's data at each service: 403, and user 1's data is unchanged", async () => {
    const cartBefore = await (await at("cart", "/users/1/cart", { headers: user1.auth })).json();
    const favoritesBefore = await (await at("favorites", "/users/1/favorites", { headers: user1.auth })).json();
    for (const [app, path, init] of [
      ["cart", "/users/1/cart", {}],
      ["cart", "/users/1/cart", send("POST", { product_id: 7 })],
      ["cart", "/users/1/cart/1", send("PUT", { quantity: 9 })],
      ["cart", "/users/1/cart/1", { method: "DELETE" }],
      ["favorites", "/users/1/favorites", {}],
      ["favorites", "/users/1/favorites", send("POST", { product_id: 7 })],
      ["favorites", "/users/1/favorites/1", { method: "DELETE" }],
      ["notifications", "/users/1/notifications", {}],
      ["users", "/users/1", {}],
    ] as const) {
      const res = await at(app, path, { ...init, headers: { ...(init as RequestInit).headers, ...user2.auth } });
      expect({ app, path, method: (init as RequestInit).method ?? "GET", status: res.status }).toEqual({ app, path, method: (init as RequestInit).method ?? "GET", status: 403 });
    }
    expect(await (await at("cart", "/users/1/cart", { headers: user1.auth })).json()).toEqual(cartBefore);
    expect(await (await at("favorites", "/users/1/favorites", { headers: user1.auth })).json()).toEqual(favoritesBefore);
  });

  test("stock and prices: a customer is refused (403) at the BFF and at the service; the admin may", async () => {
    expect((await bff("/admin/products/3/inventory", send("PUT", { inventory: 40 }, user1.auth))).status).toBe(403);
    expect((await at("inventory", "/products/3/inventory", send("PUT", { inventory: 40 }, user1.auth))).status).toBe(403);
    expect((await at("products", "/products/3", send("PATCH", { price_cents: 1 }, user1.auth))).status).toBe(403);
    const set = await bff("/admin/products/3/inventory", send("PUT", { inventory: 40 }, admin.auth));
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ product_id: 3, inventory: 40 });
  });
});

describe("edges", () => {
  test("a body over the limit is a 413 in the envelope, declared or streamed, and the BFF keeps serving", async () => {
    const big = JSON.stringify({ email: "x@example.test", password: "p".repeat(200_000), name: "x" });
    const declared = await bff("/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(declared.status).toBe(413);
    expect(await errorCode(declared)).toBe("PAYLOAD_TOO_LARGE");
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode("x".repeat(10_000)));
        controller.close();
      },
    });
    const streamed = await bff("/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: chunks });
    expect(streamed.status).toBe(413);
    expect((await bff("/health")).status).toBe(200);
  });

  test("answers carry the secure headers", async () => {
    const res = await bff("/products/all");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });
});

describe.skipIf(!redisUp)("rate limits", () => {
  test("wrong passwords for one email meet 429 RATE_LIMITED with Retry-After and RateLimit headers", async () => {
    const victim = demoEmail(5);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 20; i++) {
      const res = await bff("/auth/login", send("POST", { email: victim, password: `guess number ${i}` }));
      statuses.push(res.status);
      expect(res.headers.get("ratelimit-policy")).toContain('"auth-email"');
      if (res.status === 429) refused ??= res;
      else await res.body?.cancel();
    }
    expect(statuses.slice(0, AUTH_EMAIL_LIMIT)).toEqual(Array(AUTH_EMAIL_LIMIT).fill(401));
    expect(statuses.slice(AUTH_EMAIL_LIMIT)).toEqual(Array(20 - AUTH_EMAIL_LIMIT).fill(429));
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get("ratelimit")).toMatch(/"auth-email";r=0;t=\d+/);
    expect(await errorCode(refused!)).toBe("RATE_LIMITED");
    // Even the right password now waits: guessing has stopped.
    expect((await bff("/auth/login", send("POST", { email: victim, password: DEMO_PASSWORD }))).status).toBe(429);
  });

  test("an authenticated route says the user's quota", async () => {
    const res = await bff("/cart", { headers: user1.auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toMatch(/^"user";q=\d+;w=\d+$/);
    expect(res.headers.get("ratelimit")).toMatch(/^"user";r=\d+;t=\d+$/);
  });
});

// Last: it stops the users service.
describe("the users service down", () => {
  test("people holding a token keep shopping (keys are cached by every app); logging in is a 5xx envelope, not a hang", async () => {
    // Every app that checks tokens has fetched the keys by now (the tests above used each of them).
    const users = apps.find((p) => p.name === "users")!;
    await users.stop();
    const listing = await bff("/products/all", { headers: user1.auth });
    expect(listing.status).toBe(200);
    expect(((await listing.json()) as { degraded: string[] }).degraded).toEqual([]);
    expect((await bff("/cart", { headers: user1.auth })).status).toBe(200);

    const started = performance.now();
    const loginRes = await bff("/auth/login", send("POST", { email: demoEmail(1), password: DEMO_PASSWORD }));
    expect([502, 503, 504]).toContain(loginRes.status);
    expect(await errorCode(loginRes)).toMatch(/^UPSTREAM_/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
