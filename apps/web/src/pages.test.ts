// Every page as a visitor and as a logged-in customer sees it: it renders (one h1, a label for every input,
// landmarks), customers' pages send a visitor to the login page, output is escaped, and the home page stays
// small. Against the stub BFF (testing/stub-bff.ts).
import { beforeEach, describe, expect, test } from "bun:test";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
});

const CUSTOMER_PAGES = ["/cart", "/favorites", "/checkout", "/orders", "/notifications", "/orders/41"];

/** The structure every page must have: a doctype, one h1, header/nav/main landmarks, and a label for each field. */
function expectAccessibleStructure(html: string) {
  expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
  expect(html).toContain('<html lang="en">');
  expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
  for (const landmark of ["<header", "<nav", '<main id="main"', "<footer"]) expect(html).toContain(landmark);
  const fields = [...html.matchAll(/<(input|select)\b([^>]*)>/g)].map((m) => m[2]!).filter((attrs) => !/type="hidden"/.test(attrs));
  for (const attrs of fields) {
    const id = /\bid="([^"]+)"/.exec(attrs)?.[1];
    expect(id, `a field without an id: ${attrs}`).toBeDefined();
    expect(html).toContain(`<label for="${id}"`);
  }
  const buttons = [...html.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/g)].map((m) => textOf(m[1]!).trim());
  for (const name of buttons) expect(name.length).toBeGreaterThan(0);
}

function placeOrder(userId: number) {
  stub.state.orders.set(41, {
    order_id: 41,
    user_id: userId,
    status: "confirmed",
    total_cents: 6270,
    items: [
      { product_id: 1, quantity: 2, price_cents: 2490 },
      { product_id: 2, quantity: 1, price_cents: 1290 },
    ],
    shipping_address: { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
    delivery_date: "2026-12-24",
    cancel_reason: null,
    created_at: "2026-11-22T10:00:00.000Z",
    updated_at: "2026-11-22T10:00:02.000Z",
    history: [
      { step: "reserve", outcome: "succeeded", at: "2026-11-22T10:00:00.500Z", detail: null },
      { step: "charge", outcome: "retrying", at: "2026-11-22T10:00:01.000Z", detail: "payments did not answer" },
      { step: "charge", outcome: "succeeded", at: "2026-11-22T10:00:01.500Z", detail: null },
    ],
    delivery: { status: "activated", courier_name: "Courier One", updated_at: "2026-11-22T11:00:00.000Z" },
  });
}

describe("as a visitor", () => {
  test("the product grid: names, prices, stock in words, and 'Log in to buy' instead of the forms", async () => {
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const text = textOf(page.html);
    expect(text).toContain("Espresso beans 1 kg");
    expect(text).toContain("£24.90");
    expect(text).toContain("5 in stock");
    expect(text).toContain("Out of stock");
    expect(text).toContain("Log in to buy");
    expect(page.html).not.toContain('action="/cart/items"');
    expect(text).toContain("Log in");
    expect(text).not.toContain("Log out");
    expectAccessibleStructure(page.html);
  });

  test("a product's page, and a 404 page for one that does not exist", async () => {
    const page = await browser.get("/products/3");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("Ceramic pour-over");
    expect(stub.requests.at(-1)?.path).toBe("/products/all?limit=1&after=2");
    expectAccessibleStructure(page.html);

    for (const path of ["/products/99", "/products/abc", "/products/0"]) {
      const missing = await browser.get(path);
      expect(missing.status).toBe(404);
      expect(textOf(missing.html)).toContain("This product was not found.");
      expectAccessibleStructure(missing.html);
    }
  });

  test("the login and register pages", async () => {
    for (const path of ["/login", "/register"]) {
      const page = await browser.get(path);
      expect(page.status).toBe(200);
      expectAccessibleStructure(page.html);
      expect(page.html).toContain('name="_csrf"');
    }
  });

  test("customers' pages send a visitor to the login page, which brings them back afterwards", async () => {
    for (const path of CUSTOMER_PAGES) {
      const page = await browser.get(path);
      expect(page.status).toBe(303);
      expect(page.location).toBe(`/login?next=${encodeURIComponent(path)}&notice=login-needed`);
    }
    const login = await browser.get("/login?next=%2Fcart&notice=login-needed");
    expect(textOf(login.html)).toContain("Please log in to continue.");
    const back = await browser.post("/login", { email: "user1@storefront.test", password: "storefront-demo", next: "/cart" });
    expect(back.location).toBe("/cart?notice=logged-in");
  });

  test("an unknown address is an HTML 404 page, not JSON", async () => {
    const page = await browser.get("/no/such/page");
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(textOf(page.html)).toContain("There is no page at this address.");
  });
});

describe("as a logged-in customer", () => {
  beforeEach(async () => {
    await browser.login("user1@storefront.test");
    stub.state.carts.set(1, new Map([[1, 2], [3, 1]]));
    stub.state.favorites.set(1, new Set([3]));
    stub.state.inbox.set(1, [
      { id: 1, type: "stock.back_in_stock", title: "Burr grinder is back", body: "It is back in stock.", payload: {}, created_at: "2026-11-22T09:00:00.000Z", read_at: null },
      { id: 2, type: "price.dropped", title: "Price drop", body: "Cheaper now.", payload: {}, created_at: "2026-11-22T09:30:00.000Z", read_at: "2026-11-22T09:31:00.000Z" },
    ]);
    placeOrder(1);
  });

  test("the grid has Add to cart and the favorite toggle; the header shows the cart and unread counts", async () => {
    const page = await browser.get("/");
    expect(page.status).toBe(200);
    expect(page.html).toContain('action="/cart/items"');
    expect(page.html).toContain('action="/favorites/3/remove"'); // a favorite already
    expect(page.html).toContain('action="/favorites"'); // the others
    expect(page.html).toMatch(/<button type="submit" disabled="">Sold out/); // product 2 has none
    const text = textOf(page.html);
    expect(text).toContain("Cart 2 lines");
    expect(text).toContain("Notifications 1 unread");
    expect(text).toContain("Log out");
    expectAccessibleStructure(page.html);
  });

  test("every customer page renders", async () => {
    for (const path of ["/", "/products/1", ...CUSTOMER_PAGES]) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(200);
      expectAccessibleStructure(page.html);
    }
  });

  test("the cart: names, quantities, subtotals and the total from the catalogue's prices", async () => {
    const text = textOf((await browser.get("/cart")).html);
    expect(text).toContain("Espresso beans 1 kg");
    expect(text).toContain("£49.80"); // 2 × 24.90
    expect(text).toContain("Total: £71.80");
  });

  test("an order: status, items, the saga's history as a list, delivery status and courier", async () => {
    const page = await browser.get("/orders/41");
    const text = textOf(page.html);
    expect(text).toContain("Order #41");
    expect(text).toContain("Confirmed");
    expect(text).toContain("Filter coffee 500 g");
    expect(text).toContain("Total: £62.70");
    expect(text).toContain("Take the payment, will be tried again (payments did not answer)");
    expect(text).toContain("Ready for delivery, with Courier One");
    expect(page.html).toMatch(/<ol class="history">(\s*<li>[\s\S]*?<\/li>){3}\s*<\/ol>/);
    expect(text).toContain("24 December 2026");
  });

  test("another user's order is a 404 page", async () => {
    placeOrder(2);
    const page = await browser.get("/orders/41");
    expect(page.status).toBe(404);
    expect(textOf(page.html)).toContain("This order was not found.");
  });

  test("the orders list links each order", async () => {
    const page = await browser.get("/orders");
    expect(page.html).toContain('href="/orders/41"');
    expect(textOf(page.html)).toContain("£62.70");
  });

  test("notifications: unread ones have a Mark as read form, which posts to the BFF and comes back", async () => {
    const page = await browser.get("/notifications");
    expect(page.html).toContain('action="/notifications/1/read"');
    expect(page.html).not.toContain('action="/notifications/2/read"');
    const read = await browser.post("/notifications/1/read");
    expect(read.status).toBe(303);
    expect(read.location).toBe("/notifications?notice=notification-read");
    expect(stub.state.inbox.get(1)![0]!.read_at).not.toBeNull();
    expect(textOf((await browser.get("/")).html)).not.toContain("unread");
  });

  test("an admin's navigation has the admin pages; a courier's their deliveries", async () => {
    await browser.login("admin@storefront.test");
    const admin = (await browser.get("/")).html;
    expect(admin).toContain('href="/admin"');
    expect(admin).toContain('href="/status"');
    await browser.login("courier1@storefront.test");
    const courier = (await browser.get("/")).html;
    expect(courier).toContain('href="/courier"');
    expect(courier).not.toContain('href="/admin"');
  });
});

describe("escaping and size", () => {
  test("a product name with a script tag renders as text", async () => {
    stub.state.products.push({ product_id: 7, product_name: "<script>alert(1)</script>", price_cents: 100, inventory: 1 });
    await browser.login();
    for (const path of ["/", "/products/7"]) {
      const { html } = await browser.get(path);
      expect(html).not.toContain("<script>alert(1)</script>");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(html).not.toContain("<script");
    }
  });

  test("the query string is never echoed: a notice is one of a fixed set", async () => {
    const { html } = await browser.get('/?notice=<img src=x onerror="alert(1)">');
    expect(html).not.toContain("<img");
    expect(html).not.toContain("onerror");
  });

  test("a full home page (24 products with long names, logged in) is under 60 KB", async () => {
    stub.state.products = Array.from({ length: 100 }, (_, i) => ({ product_id: i + 1, product_name: `A rather long product name, number ${i + 1} of the catalogue`, price_cents: 12345, inventory: 999 }));
    await browser.login();
    const page = await browser.get("/");
    expect(page.html.match(/class="card"/g)).toHaveLength(24);
    expect(page.html).toContain('href="/?after=24"');
    expect(new TextEncoder().encode(page.html).length).toBeLessThan(60 * 1024);
  });

  test("pages are not stored and allow no script (Content-Security-Policy)", async () => {
    const page = await browser.get("/");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("script-src");
  });
});
