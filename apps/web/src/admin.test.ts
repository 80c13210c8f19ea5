// The admin's page against the stub BFF: who may open it (a visitor logs in, a customer or courier gets the
// 403 page), the stock and price forms (the BFF calls, with CSRF, and each answer in words), the deliveries of
// a status with the courier form, and a 409 INVALID_TRANSITION said in words.
import { beforeEach, describe, expect, test } from "bun:test";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff, StubDelivery } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
});

const ADMIN = "admin@storefront.test";

function delivery(orderId: number, status: StubDelivery["status"], courier: StubDelivery["courier"] = null): StubDelivery {
  return {
    order_id: orderId,
    user_id: 1,
    status,
    shipping_address: { name: "Ada <b>Lovelace</b>", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
    delivery_date: "2026-12-24",
    courier,
    version: 1,
    created_at: "2026-11-22T10:00:00.000Z",
    updated_at: "2026-11-22T10:00:00.000Z",
    history: [],
  };
}

const calls = (method: string, path: string) => stub.requests.filter((r) => r.method === method && r.path === path);

describe("who may open /admin", () => {
  test("a visitor is sent to the login page", async () => {
    const page = await browser.get("/admin");
    expect(page.status).toBe(303);
    expect(page.location).toBe("/login?next=%2Fadmin&notice=login-needed");
  });

  for (const email of ["user1@storefront.test", "courier1@storefront.test"]) {
    test(`${email}: the 403 page, and the BFF's admin routes are not called`, async () => {
      await browser.login(email);
      stub.requests.length = 0;
      const page = await browser.get("/admin");
      expect(page.status).toBe(403);
      expect(textOf(page.html)).toContain("The admin's page is not open to this account");
      expect(stub.requests.some((r) => r.path.startsWith("/admin"))).toBe(false);
      const post = await browser.post("/admin/products/1/price", { price: "1.00" });
      expect(post.status).toBe(403);
      expect(stub.state.products[0]!.price_cents).toBe(2490);
    });
  }

  test("an admin sees the page; the nav marks it current", async () => {
    await browser.login(ADMIN);
    const page = await browser.get("/admin");
    expect(page.status).toBe(200);
    expect(page.html).toContain('<a href="/admin" aria-current="page">Admin</a>');
  });
});

describe("stock and prices", () => {
  beforeEach(async () => {
    await browser.login(ADMIN);
    stub.state.reserved.set(1, 2);
  });

  test("a row per product: available, on hand, reserved, and its two forms with the CSRF token", async () => {
    const page = await browser.get("/admin");
    const row = /<tr>(?:(?!<\/tr>)[\s\S])*Espresso beans 1 kg[\s\S]*?<\/tr>/.exec(page.html)![0];
    expect(textOf(row)).toMatch(/Espresso beans 1 kg 5 7 2/);
    expect(row).toContain('action="/admin/products/1/stock"');
    expect(row).toContain('name="on_hand"');
    expect(row).toContain('value="7"');
    expect(row).toContain('action="/admin/products/1/price"');
    expect(row).toContain('value="24.90"');
    expect(row.match(new RegExp(`name="_csrf" value="${browser.jar.get("sf_csrf")}"`, "g"))).toHaveLength(2);
  });

  test("setting the stock: PUT /admin/products/1/inventory {inventory}, back to the page with a notice", async () => {
    const page = await browser.post("/admin/products/1/stock", { on_hand: "12", next: "/admin" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/admin?notice=stock-updated");
    const [call] = calls("PUT", "/admin/products/1/inventory");
    expect(call!.body).toEqual({ inventory: 12 });
    expect(call!.authorization).toBe(`Bearer ${browser.jar.get("sf_access")}`);
    expect(textOf((await browser.get(page.location!)).html)).toContain("The stock is updated.");
    expect(stub.state.products[0]!.inventory).toBe(10);
  });

  test("stock below what is reserved: the BFF's 409 in words, nothing changed", async () => {
    const page = await browser.post("/admin/products/1/stock", { on_hand: "1" });
    expect(page.location).toBe("/admin?notice=stock-below-reserved");
    expect(textOf((await browser.get(page.location!)).html)).toContain("it cannot be set below what is reserved for orders");
    expect(stub.state.products[0]!.inventory).toBe(5);
  });

  test("not a whole number: refused here, the BFF is not asked", async () => {
    for (const on_hand of ["-1", "1.5", "", "9999999999"]) {
      const page = await browser.post("/admin/products/1/stock", { on_hand });
      expect(page.location).toBe("/admin?notice=stock-invalid");
    }
    expect(calls("PUT", "/admin/products/1/inventory")).toHaveLength(0);
  });

  test("setting the price in pounds: PATCH /admin/products/3 {price_cents} in whole pence; the grid shows it", async () => {
    const page = await browser.post("/admin/products/3/price", { price: "19.29", next: "/admin?status=all" });
    expect(page.location).toBe("/admin?status=all&notice=price-updated");
    expect(calls("PATCH", "/admin/products/3")[0]!.body).toEqual({ price_cents: 1929 });
    expect(textOf((await browser.get("/")).html)).toContain("£19.29");
    await browser.post("/admin/products/3/price", { price: "7" });
    expect(calls("PATCH", "/admin/products/3")[1]!.body).toEqual({ price_cents: 700 });
  });

  test("a price that is not an amount, or a product that is gone: said in words", async () => {
    expect((await browser.post("/admin/products/3/price", { price: "12.345" })).location).toBe("/admin?notice=price-invalid");
    expect((await browser.post("/admin/products/3/price", { price: "abc" })).location).toBe("/admin?notice=price-invalid");
    expect(calls("PATCH", "/admin/products/3")).toHaveLength(0);
    const gone = await browser.post("/admin/products/99/price", { price: "1.00" });
    expect(gone.location).toBe("/admin?notice=product-missing");
  });

  test("`next` elsewhere than /admin is ignored (no open redirect)", async () => {
    for (const next of ["https://evil.test/", "//evil.test", "/cart"]) {
      expect((await browser.post("/admin/products/1/stock", { on_hand: "9", next })).location).toBe("/admin?notice=stock-updated");
    }
  });

  test("a form without the CSRF token: the 403 page, nothing sent", async () => {
    const page = await browser.post("/admin/products/1/stock", { on_hand: "12" }, { csrf: null });
    expect(page.status).toBe(403);
    expect(calls("PUT", "/admin/products/1/inventory")).toHaveLength(0);
  });

  test("a product name with markup is escaped", async () => {
    stub.state.products[0]!.product_name = `<script>alert("x")</script>`;
    const page = await browser.get("/admin");
    expect(page.html).not.toContain("<script>alert");
    expect(page.html).toContain("&lt;script&gt;");
  });

  test("the BFF has no stock route (404): on hand and reserved are '–', the page still renders", async () => {
    stub.on("GET", /^\/admin\/products\/\d+\/inventory$/, (c) => c.json({ error: { code: "NOT_FOUND", message: "no route" } }, 404));
    const page = await browser.get("/admin");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("On hand and reserved counts are not available from the BFF right now");
  });

  test("inventory down at the BFF: 'Stock is unavailable right now', prices still editable", async () => {
    stub.state.degraded = ["inventory"];
    const page = await browser.get("/admin");
    expect(textOf(page.html)).toContain("Stock is unavailable right now.");
    expect(page.html).toContain('action="/admin/products/1/price"');
  });
});

describe("deliveries", () => {
  beforeEach(async () => {
    await browser.login(ADMIN);
    stub.state.deliveries.set(41, delivery(41, "activated"));
    stub.state.deliveries.set(42, delivery(42, "activated", { courier_id: 1, name: "Courier One" }));
    stub.state.deliveries.set(43, delivery(43, "done", { courier_id: 1, name: "Courier One" }));
  });

  test("the activated ones by default, keyset-paged; an assign form with the couriers for one without a courier", async () => {
    const page = await browser.get("/admin");
    expect(calls("GET", "/admin/deliveries?limit=20&status=activated")).toHaveLength(1);
    const text = textOf(page.html);
    expect(text).toContain("#41");
    expect(text).toContain("#42");
    expect(text).not.toContain("#43");
    expect(text).toContain("24 December 2026");
    expect(page.html).toContain("Ada &lt;b&gt;Lovelace&lt;/b&gt;");
    expect(page.html).toContain('action="/admin/deliveries/41/courier"');
    expect(page.html).not.toContain('action="/admin/deliveries/42/courier"');
    expect(page.html).toContain('<option value="1">Courier One</option>');
  });

  test("another status, and all; an unknown status is a 404 page", async () => {
    const done = await browser.get("/admin?status=done");
    expect(textOf(done.html)).toContain("#43");
    expect(calls("GET", "/admin/deliveries?limit=20&status=done")).toHaveLength(1);
    await browser.get("/admin?status=all");
    expect(calls("GET", "/admin/deliveries?limit=20")).toHaveLength(1);
    expect((await browser.get("/admin?status=lost")).status).toBe(404);
  });

  test("the next page link carries next_after as deliveries_after", async () => {
    for (let id = 50; id < 75; id++) stub.state.deliveries.set(id, delivery(id, "activated"));
    const page = await browser.get("/admin");
    const next = /href="(\/admin\?deliveries_after=[^"]+)"/.exec(page.html)?.[1];
    expect(next).toBe("/admin?deliveries_after=67");
    await browser.get(next!);
    expect(calls("GET", "/admin/deliveries?limit=20&status=activated&after=67")).toHaveLength(1);
  });

  test("assigning: POST /admin/deliveries/41/courier {courier_id}, then 'assigned'", async () => {
    const page = await browser.post("/admin/deliveries/41/courier", { courier_id: "1", next: "/admin" });
    expect(page.location).toBe("/admin?notice=courier-assigned");
    expect(calls("POST", "/admin/deliveries/41/courier")[0]!.body).toEqual({ courier_id: 1 });
    expect(stub.state.deliveries.get(41)!.courier?.name).toBe("Courier One");
    expect(textOf((await browser.get(page.location!)).html)).toContain("The courier is assigned.");
  });

  test("409 INVALID_TRANSITION in words, by the delivery's status now", async () => {
    stub.state.deliveries.set(44, delivery(44, "created"));
    stub.state.deliveries.set(45, delivery(45, "canceled"));
    const cases: [number, string, string][] = [
      [42, "delivery-has-courier", "That delivery already has a courier"],
      [43, "delivery-already-done", "That delivery has already been delivered"],
      [44, "delivery-not-paid", "its order is not paid"],
      [45, "delivery-cancelled", "That delivery was cancelled with its order"],
    ];
    for (const [id, notice, words] of cases) {
      const page = await browser.post(`/admin/deliveries/${id}/courier`, { courier_id: "1" });
      expect(page.location).toBe(`/admin?notice=${notice}`);
      expect(textOf((await browser.get(page.location!)).html)).toContain(words);
    }
  });

  test("an unknown courier or delivery (404), or no courier chosen: said in words", async () => {
    expect((await browser.post("/admin/deliveries/41/courier", { courier_id: "9" })).location).toBe("/admin?notice=courier-missing");
    expect((await browser.post("/admin/deliveries/99/courier", { courier_id: "1" })).location).toBe("/admin?notice=courier-missing");
    expect((await browser.post("/admin/deliveries/41/courier", { courier_id: "x" })).location).toBe("/admin?notice=courier-invalid");
  });

  test("deliveries or couriers failing at the BFF: said in words, the stock grid still renders", async () => {
    stub.on("GET", "/admin/deliveries", (c) => c.json({ error: { code: "UPSTREAM_UNAVAILABLE", message: "delivery" } }, 503));
    const page = await browser.get("/admin");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("Deliveries are unavailable right now.");
    expect(textOf(page.html)).toContain("Espresso beans 1 kg");
    stub.reset();
    stub.on("GET", "/admin/couriers", (c) => c.json({ error: { code: "UPSTREAM_TIMEOUT", message: "delivery" } }, 504));
    expect(textOf((await browser.get("/admin")).html)).toContain("Couriers are unavailable right now.");
  });

  test("the BFF itself down: the page says each part is unavailable, no stack", async () => {
    stub.state.fault = "refused";
    const page = await browser.get("/admin");
    const text = textOf(page.html);
    expect(text).toContain("The products are unavailable right now.");
    expect(text).toContain("Deliveries are unavailable right now.");
  });
});
