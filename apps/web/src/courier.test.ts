// The courier's page against the stub BFF: who may open it, their deliveries with "Mark delivered" (the BFF
// call with CSRF), and a 404 or 409 from the BFF said in words.
import { beforeEach, describe, expect, test } from "bun:test";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff, StubDelivery } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
});

const mine = (orderId: number, status: StubDelivery["status"], courierId = 1): StubDelivery => ({
  order_id: orderId,
  user_id: 1,
  status,
  shipping_address: { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
  delivery_date: null,
  courier: { courier_id: courierId, name: courierId === 1 ? "Courier One" : "Courier Two" },
  version: 2,
  created_at: "2026-11-22T10:00:00.000Z",
  updated_at: "2026-11-22T10:00:00.000Z",
  history: [],
});

describe("who may open /courier", () => {
  test("a visitor is sent to the login page", async () => {
    expect((await browser.get("/courier")).location).toBe("/login?next=%2Fcourier&notice=login-needed");
  });

  for (const email of ["user1@storefront.test", "admin@storefront.test"]) {
    test(`${email}: the 403 page`, async () => {
      await browser.login(email);
      const page = await browser.get("/courier");
      expect(page.status).toBe(403);
      expect(textOf(page.html)).toContain("The courier's page is not open to this account");
      expect((await browser.post("/courier/deliveries/41/done")).status).toBe(403);
    });
  }
});

describe("as a courier", () => {
  beforeEach(async () => {
    await browser.login("courier1@storefront.test");
    stub.state.couriers.push({ courier_id: 2, name: "Courier Two", user_id: 201 });
    stub.state.deliveries.set(41, mine(41, "activated"));
    stub.state.deliveries.set(42, mine(42, "done"));
    stub.state.deliveries.set(43, mine(43, "activated", 2));
  });

  test("their deliveries only, with 'Mark delivered' on the open ones and the CSRF token", async () => {
    const page = await browser.get("/courier");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("#41");
    expect(text).toContain("#42");
    expect(text).not.toContain("#43");
    expect(text).toContain("As soon as possible");
    expect(text).toContain("Delivered");
    expect(page.html).toContain('action="/courier/deliveries/41/done"');
    expect(page.html).not.toContain('action="/courier/deliveries/42/done"');
    expect(page.html).toContain(`name="_csrf" value="${browser.jar.get("sf_csrf")}"`);
    expect(page.html).toContain('<a href="/courier" aria-current="page">My deliveries</a>');
  });

  test("Mark delivered: POST /courier/deliveries/41/done, back with a notice, the row shows it delivered", async () => {
    const page = await browser.post("/courier/deliveries/41/done", { next: "/courier" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/courier?notice=delivery-done");
    const call = stub.requests.find((r) => r.method === "POST" && r.path === "/courier/deliveries/41/done");
    expect(call?.authorization).toBe(`Bearer ${browser.jar.get("sf_access")}`);
    const after = await browser.get(page.location!);
    expect(textOf(after.html)).toContain("Marked delivered. The customer is told.");
    expect(after.html).not.toContain('action="/courier/deliveries/41/done"');
  });

  test("already delivered (409) and another courier's (404): said in words", async () => {
    const done = await browser.post("/courier/deliveries/42/done");
    expect(done.location).toBe("/courier?notice=delivery-not-open");
    expect(textOf((await browser.get(done.location!)).html)).toContain("That delivery is no longer open");
    const other = await browser.post("/courier/deliveries/43/done");
    expect(other.location).toBe("/courier?notice=delivery-not-yours");
    expect(textOf((await browser.get(other.location!)).html)).toContain("That delivery was not found among yours");
    expect(stub.state.deliveries.get(43)!.status).toBe("activated");
  });

  test("without the CSRF token: the 403 page, nothing sent", async () => {
    const page = await browser.post("/courier/deliveries/41/done", {}, { csrf: null });
    expect(page.status).toBe(403);
    expect(stub.state.deliveries.get(41)!.status).toBe("activated");
  });

  test("none yet: says so; the BFF down: the 503 page", async () => {
    stub.state.deliveries.clear();
    expect(textOf((await browser.get("/courier")).html)).toContain("No deliveries are assigned to you yet.");
    stub.state.fault = "refused";
    const page = await browser.get("/courier");
    expect(page.status).toBe(503);
    expect(textOf(page.html)).toContain("The shop is unavailable right now");
  });
});
