// When the BFF reports a degraded part, the page says so in plain words and renders everything else; when the
// BFF itself is down, late, failing or talking nonsense, a clear 503 page, never a stack trace.
import { beforeEach, describe, expect, test } from "bun:test";
import { UNAVAILABLE_MESSAGE } from "./errors.ts";
import { textOf, type Browser, type Page } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { TEST_DEADLINES, webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
});

describe("degraded parts of the listing", () => {
  test("inventory: 'Stock is unavailable right now', and the grid still renders with Add to cart", async () => {
    await browser.login();
    stub.state.degraded = ["inventory"];
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("Stock is unavailable right now");
    expect(text).toContain("Espresso beans 1 kg");
    expect(text).toContain("Stock unknown");
    expect(page.html.match(/action="\/cart\/items"/g)).toHaveLength(3); // none disabled as sold out: stock is unknown
    expect(page.html).not.toContain('disabled=""');
  });

  test("inventory, for a visitor too", async () => {
    stub.state.degraded = ["inventory"];
    expect(textOf((await browser.get("/")).html)).toContain("Stock is unavailable right now");
  });

  test("cart: 'Your cart count is unavailable right now', and the header shows no count", async () => {
    await browser.login();
    stub.state.degraded = ["cart"];
    const page = await browser.get("/");
    const text = textOf(page.html);
    expect(text).toContain("Your cart count is unavailable right now");
    expect(page.html).toContain('href="/cart">Cart</a>');
  });

  test("favorites: the listing's count is gone but the page's own read works: toggles shown, no banner", async () => {
    await browser.login();
    stub.state.degraded = ["favorites"];
    const page = await browser.get("/");
    expect(textOf(page.html)).not.toContain("Your favorites are unavailable");
    expect(page.html).toContain('action="/favorites"');
  });

  test("favorites failing: 'Your favorites are unavailable right now', no toggles, the rest as usual", async () => {
    await browser.login();
    stub.on("GET", "/favorites", (c) => c.json({ error: { code: "UPSTREAM_UNAVAILABLE", message: "favorites is failing" } }, 503));
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("Your favorites are unavailable right now");
    expect(page.html).not.toContain('action="/favorites"');
    expect(page.html).toContain('action="/cart/items"');
  });

  test("a part failing again and again never takes the shop down (no breaker of ours in front of the BFF)", async () => {
    await browser.login();
    stub.on("GET", "/favorites", (c) => c.json({ error: { code: "UPSTREAM_UNAVAILABLE", message: "favorites is failing" } }, 503));
    for (let i = 0; i < 20; i++) expect((await browser.get("/")).status).toBe(200);
    expect(textOf((await browser.get("/")).html)).toContain("Espresso beans 1 kg");
  });

  test("products served from an old copy: says details may be out of date", async () => {
    stub.state.degraded = ["products"];
    expect(textOf((await browser.get("/")).html)).toContain("Product details may be a little out of date right now.");
  });

  test("the inbox failing: every page still renders, the header without an unread count", async () => {
    await browser.login();
    stub.on("GET", "/notifications", (c) => c.json({ error: { code: "UPSTREAM_TIMEOUT", message: "notifications did not answer" } }, 504));
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    expect(page.html).toContain('href="/notifications">Notifications</a>');
  });

  test("the cart page with the catalogue unavailable: its lines by id, no total, saying names and prices are unavailable", async () => {
    await browser.login();
    stub.state.carts.set(1, new Map([[1, 2]]));
    stub.on("GET", "/products/all", (c) => c.json({ error: { code: "UPSTREAM_ERROR", message: "products failed" } }, 502));
    const page = await browser.get("/cart");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("Product #1");
    expect(text).toContain("Some product names and prices are unavailable right now.");
    expect(text).toContain("Total: shown at checkout");
  });
});

describe("the BFF itself failing: a 503 page", () => {
  const expectUnavailable = (page: Page) => {
    expect(page.status).toBe(503);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(page.headers.get("retry-after")).toBe("5");
    const text = textOf(page.html);
    expect(text).toContain(UNAVAILABLE_MESSAGE);
    expect(text).not.toMatch(/\bat \S+\.(ts|js)|Error\b|\bstack\b/);
    expect(page.html.match(/<h1[\s>]/g)).toHaveLength(1);
  };

  test("refusing connections: for a visitor and for a customer, on every page that needs it", async () => {
    await browser.login();
    stub.state.fault = "refused";
    for (const path of ["/", "/products/1", "/cart", "/favorites", "/orders", "/orders/41", "/notifications", "/checkout"]) expectUnavailable(await browser.get(path));
    expectUnavailable(await browser.post("/cart/items", { product_id: "1" }));
    await browser.post("/logout");
    expectUnavailable(await browser.get("/"));
  });

  test("hanging: the 503 page once the deadline passes, not later", async () => {
    stub.state.fault = "hang";
    const started = performance.now();
    expectUnavailable(await browser.get("/"));
    // Generous: the deadline is 400 ms; this only catches waiting for the BFF indefinitely.
    expect(performance.now() - started).toBeLessThan(TEST_DEADLINES.readMs + 4000);
  });

  test("answering 500, or a body that is not the listing", async () => {
    stub.state.fault = { status: 500 };
    expectUnavailable(await browser.get("/"));
    stub.state.fault = null;
    stub.on("GET", "/products/all", (c) => c.json({ products: "nope" }));
    expectUnavailable(await browser.get("/"));
  });

  test("the login page needs no BFF; logging in while it is down is the 503 page", async () => {
    stub.state.fault = "refused";
    expect((await browser.get("/login")).status).toBe(200);
    expectUnavailable(await browser.post("/login", { email: "user1@storefront.test", password: "storefront-demo" }));
  });

  test("/health and /ready answer whatever the BFF does", async () => {
    const { app } = await webApp();
    for (const path of ["/health", "/ready"]) expect((await app.request(path)).status).toBe(200);
  });
});
