// The session: login stores the BFF's tokens in HttpOnly, SameSite=Lax cookies (Secure and __Host- when
// configured); an expired access token is refreshed before the page is served (once for concurrent requests);
// a token the BFF refuses is renewed and the call retried; a refused refresh ends the session; logout clears it.
import { beforeEach, describe, expect, test } from "bun:test";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";
import { readClaims } from "./session.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
});

const refreshCalls = () => stub.requests.filter((r) => r.path === "/auth/refresh").length;
const cookieLine = (lines: string[], name: string) => lines.find((l) => l.startsWith(`${name}=`));

describe("logging in", () => {
  test("sets the access and refresh cookies HttpOnly, SameSite=Lax, Path=/, not Secure by default; a new CSRF token", async () => {
    await browser.get("/login");
    const before = browser.jar.get("sf_csrf");
    const page = await browser.post("/login", { email: "user1@storefront.test", password: "storefront-demo", next: "/" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/?notice=logged-in");
    for (const name of ["sf_access", "sf_refresh", "sf_csrf"]) {
      const line = cookieLine(page.setCookies, name)!;
      expect(line).toBeDefined();
      expect(line).toContain("HttpOnly");
      expect(line).toContain("SameSite=Lax");
      expect(line).toContain("Path=/");
      expect(line).not.toContain("Secure");
    }
    expect(cookieLine(page.setCookies, "sf_access")).toContain("Max-Age=900");
    expect(browser.jar.get("sf_csrf")).not.toBe(before);
    expect(textOf((await browser.get("/")).html)).toContain("Log out");
  });

  test("with secureCookies: __Host- cookies, Secure", async () => {
    const secure = await webApp({ secure: true });
    const page = await secure.browser.login();
    expect(page.status).toBe(303);
    for (const name of ["__Host-sf_access", "__Host-sf_refresh", "__Host-sf_csrf"]) {
      const line = cookieLine(page.setCookies, name)!;
      expect(line).toBeDefined();
      expect(line).toContain("Secure");
      expect(line).toContain("HttpOnly");
      expect(line).toContain("SameSite=Lax");
    }
    expect(textOf((await secure.browser.get("/")).html)).toContain("Log out");
  });

  test("a wrong password: 401 page saying so, the email kept, no session cookie", async () => {
    await browser.get("/login");
    const page = await browser.post("/login", { email: "user1@storefront.test", password: "wrong-password" });
    expect(page.status).toBe(401);
    expect(textOf(page.html)).toContain("That email and password do not match an account.");
    expect(page.html).toContain('value="user1@storefront.test"');
    expect(page.html).not.toContain("wrong-password");
    expect(cookieLine(page.setCookies, "sf_access")).toBeUndefined();
  });

  test("rate limited at the BFF: 429 page with how long to wait", async () => {
    stub.on("POST", "/auth/login", (c) => c.json({ error: { code: "RATE_LIMITED", message: "slow down" } }, 429, { "retry-after": "30" }));
    await browser.get("/login");
    const page = await browser.post("/login", { email: "user1@storefront.test", password: "storefront-demo" });
    expect(page.status).toBe(429);
    expect(textOf(page.html)).toContain("Please wait 30 seconds");
  });

  test("the role is read from the token's payload", () => {
    const payload = Buffer.from(JSON.stringify({ sub: "7", role: "admin", exp: 2_000_000_000 })).toString("base64url");
    expect(readClaims(`x.${payload}.y`)).toEqual({ userId: 7, role: "admin", exp: 2_000_000_000 });
    expect(readClaims("not-a-token")).toBeNull();
    expect(readClaims(`x.${Buffer.from("{").toString("base64url")}.y`)).toBeNull();
  });
});

describe("registering", () => {
  test("creates the account and logs it in", async () => {
    await browser.get("/register");
    const page = await browser.post("/register", { name: "Ada", email: " Ada@Example.com ", password: "analytical-engine" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/?notice=welcome");
    expect(stub.requests.find((r) => r.path === "/auth/register")?.body).toEqual({ name: "Ada", email: "ada@example.com", password: "analytical-engine" });
    expect(browser.jar.has("sf_access")).toBe(true);
    expect(textOf((await browser.get(page.location!)).html)).toContain("Welcome! Your account is ready");
  });

  test("a short password and a bad email are shown beside their fields; the BFF is not asked", async () => {
    await browser.get("/register");
    const page = await browser.post("/register", { name: "Ada", email: "not-an-email", password: "short" });
    expect(page.status).toBe(400);
    const text = textOf(page.html);
    expect(text).toContain("Enter an email address");
    expect(text).toContain("at least 10 characters");
    expect(page.html).toContain('aria-describedby="password-error"');
    expect(stub.requests.some((r) => r.path === "/auth/register")).toBe(false);
  });

  test("an email that is taken: 409, saying so", async () => {
    await browser.get("/register");
    const page = await browser.post("/register", { name: "Ada", email: "user1@storefront.test", password: "long-enough-password" });
    expect(page.status).toBe(409);
    expect(textOf(page.html)).toContain("An account with this email exists already.");
  });
});

describe("refreshing the session", () => {
  test("an expired access token is traded for a new pair before the page is served", async () => {
    stub.state.accessTtlS = -60; // the login hands out an access token that has already expired
    await browser.login();
    stub.state.accessTtlS = 900;
    const oldRefresh = browser.jar.get("sf_refresh");
    const page = await browser.get("/cart");
    expect(page.status).toBe(200);
    expect(refreshCalls()).toBe(1);
    expect(stub.requests.find((r) => r.path === "/auth/refresh")?.body).toEqual({ refresh_token: oldRefresh });
    expect(browser.jar.get("sf_refresh")).not.toBe(oldRefresh);
    expect(cookieLine(page.setCookies, "sf_access")).toContain("HttpOnly");
    // The cart was asked with the new token.
    const cartCall = stub.requests.find((r) => r.path === "/cart")!;
    expect(cartCall.authorization).toBe(`Bearer ${browser.jar.get("sf_access")}`);
  });

  test("concurrent requests with the same expired cookies share one refresh, and a late one reuses its answer", async () => {
    stub.state.accessTtlS = -60;
    await browser.login();
    stub.state.accessTtlS = 900;
    const expired = new Map(browser.jar);
    const pages = await Promise.all([browser.get("/"), browser.get("/cart"), browser.get("/orders")]);
    for (const page of pages) expect(page.status).toBe(200);
    expect(refreshCalls()).toBe(1);
    // A request that set off before the new cookies arrived, carrying the used refresh token: not presented again.
    for (const [name, value] of expired) browser.jar.set(name, value);
    const late = await browser.get("/favorites");
    expect(late.status).toBe(200);
    expect(refreshCalls()).toBe(1);
  });

  test("a token the BFF refuses (401) is renewed and the call made again", async () => {
    await browser.login();
    // A well-formed token that has not expired, signed by a key the BFF does not trust.
    const stranger = await createTestIssuer();
    browser.jar.set("sf_access", await stranger.token(1, "customer"));
    const page = await browser.get("/cart");
    expect(page.status).toBe(200);
    expect(refreshCalls()).toBe(1);
    expect(stub.requests.filter((r) => r.path === "/cart")).toHaveLength(2);
  });

  test("a refused refresh ends the session: cookies cleared, and the login page", async () => {
    await browser.login();
    const stranger = await createTestIssuer();
    browser.jar.set("sf_access", await stranger.token(1, "customer"));
    stub.state.refreshTokens.clear(); // revoked
    const page = await browser.get("/cart");
    expect(page.status).toBe(303);
    expect(page.location).toBe("/login?next=%2Fcart&notice=session-ended");
    expect(cookieLine(page.setCookies, "sf_access")).toContain("Max-Age=0");
    expect(browser.jar.has("sf_access")).toBe(false);
    expect(browser.jar.has("sf_refresh")).toBe(false);
  });

  test("an expired token whose refresh is refused: a visitor again", async () => {
    stub.state.accessTtlS = -60;
    await browser.login();
    stub.state.refreshTokens.clear();
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("Log in to buy");
    expect(browser.jar.has("sf_refresh")).toBe(false);
  });

  test("while the BFF cannot refresh, the cookies are kept for later", async () => {
    stub.state.accessTtlS = -60;
    await browser.login();
    stub.state.accessTtlS = 900;
    stub.on("POST", "/auth/refresh", (c) => c.json({ error: { code: "UPSTREAM_UNAVAILABLE", message: "users is failing" } }, 503));
    const down = await browser.get("/cart");
    expect(down.status).toBe(303); // served as a visitor: this page needs a login
    expect(browser.jar.has("sf_refresh")).toBe(true);
    stub.reset();
    expect((await browser.get("/cart")).status).toBe(200);
  });
});

describe("logging out", () => {
  test("ends the session at the BFF, clears the cookies and replaces the CSRF token", async () => {
    await browser.login();
    const token = browser.jar.get("sf_access");
    const csrf = browser.jar.get("sf_csrf");
    const page = await browser.post("/logout");
    expect(page.status).toBe(303);
    expect(page.location).toBe("/?notice=logged-out");
    expect(stub.requests.find((r) => r.path === "/auth/logout")?.authorization).toBe(`Bearer ${token}`);
    expect(browser.jar.has("sf_access")).toBe(false);
    expect(browser.jar.has("sf_refresh")).toBe(false);
    expect(browser.jar.get("sf_csrf")).not.toBe(csrf);
    expect(textOf((await browser.get("/")).html)).toContain("Log in to buy");
  });

  test("with the BFF down: the cookies go all the same", async () => {
    await browser.login();
    stub.state.fault = "refused";
    const page = await browser.post("/logout");
    expect(page.status).toBe(303);
    expect(browser.jar.has("sf_access")).toBe(false);
  });
});
