// Checkout through the web app: the form's Idempotency-Key goes to the BFF as the header; each outcome in
// words (201 -> the order page, 202 -> "being processed", 402 declined, 409 names the products); a double
// submit is one order; a lost answer brings the form back with the same key.
import { beforeEach, describe, expect, test } from "bun:test";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
  await browser.login("user1@storefront.test");
  stub.state.carts.set(1, new Map([[1, 2], [3, 1]]));
});

const ADDRESS = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "gb" };

/** Loads the checkout page and returns the Idempotency-Key its form carries. */
async function formKey(): Promise<string> {
  const page = await browser.get("/checkout");
  expect(page.status).toBe(200);
  const key = /name="idempotency_key" value="([^"]+)"/.exec(page.html)?.[1];
  expect(key).toBeDefined();
  return key!;
}

const placeOrder = async (fields: Record<string, string> = {}) => {
  const key = await formKey();
  const page = await browser.post("/checkout", { ...ADDRESS, delivery_date: "", card_token: "tok_visa", idempotency_key: key, ...fields });
  return { key, page };
};

const checkoutCalls = () => stub.requests.filter((r) => r.path === "/checkout");

describe("the checkout page", () => {
  test("shows the cart, the address fields, the date, the test cards in words, and a fresh key each time", async () => {
    const page = await browser.get("/checkout");
    const text = textOf(page.html);
    expect(text).toContain("2 × Espresso beans 1 kg (£49.80)");
    expect(text).toContain("Total: £71.80");
    expect(text).toContain("Test card that is declined");
    expect(page.html).toContain('value="tok_flaky"');
    expect(page.html).toContain('type="date"');
    expect(page.html).toContain("Place order");
    expect(await formKey()).not.toBe(await formKey());
  });

  test("with an empty cart: says so, no form", async () => {
    stub.state.carts.set(1, new Map());
    const page = await browser.get("/checkout");
    expect(textOf(page.html)).toContain("Your cart is empty.");
    expect(page.html).not.toContain('action="/checkout"');
  });
});

describe("placing the order", () => {
  test("201: the body and the key go to the BFF, and the browser goes to the confirmed order", async () => {
    const { key, page } = await placeOrder({ delivery_date: "" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/orders/41?notice=order-confirmed");
    const [call] = checkoutCalls();
    expect(call!.idempotencyKey).toBe(key);
    expect(call!.authorization).toBe(`Bearer ${browser.jar.get("sf_access")}`);
    expect(call!.body).toEqual({ shipping_address: { ...ADDRESS, country: "GB" }, card_token: "tok_visa" });
    const order = await browser.get(page.location!);
    expect(textOf(order.html)).toContain("Thank you! Your order is confirmed.");
    expect(textOf(order.html)).toContain("Confirmed");
  });

  test("a double submit (the same form twice) is one order", async () => {
    const key = await formKey();
    const fields = { ...ADDRESS, card_token: "tok_visa", idempotency_key: key };
    const [first, second] = await Promise.all([browser.post("/checkout", fields), browser.post("/checkout", fields)]);
    expect(first.location).toBe("/orders/41?notice=order-confirmed");
    expect(second.location).toBe("/orders/41?notice=order-confirmed");
    expect(stub.state.orders.size).toBe(1);
    expect(new Set(checkoutCalls().map((c) => c.idempotencyKey))).toEqual(new Set([key]));
  });

  test("202: the order page says it is being processed", async () => {
    const { page } = await placeOrder({ card_token: "tok_slow" });
    expect(page.location).toBe("/orders/41?notice=order-processing");
    const order = textOf((await browser.get(page.location!)).html);
    expect(order).toContain("Your order is being processed");
    expect(order).toContain("Being processed");
  });

  test("402: 'Your card was declined', the form again with a new key for the next attempt", async () => {
    const { key, page } = await placeOrder({ card_token: "tok_decline" });
    expect(page.status).toBe(402);
    expect(textOf(page.html)).toContain("Your card was declined");
    expect(page.html).toContain('value="Ada Lovelace"');
    expect(page.html).not.toContain(`value="${key}"`);
  });

  test("409 OUT_OF_STOCK names the products, with what was asked and what is left", async () => {
    stub.state.products[0]!.inventory = 1; // espresso: 2 asked
    stub.state.products[2]!.inventory = 0; // pour-over: 1 asked
    const { page } = await placeOrder();
    expect(page.status).toBe(409);
    const text = textOf(page.html);
    expect(text).toContain("Some products are not in stock");
    expect(text).toContain("Espresso beans 1 kg: you asked for 2, 1 is available");
    expect(text).toContain("Ceramic pour-over: you asked for 1, none are available");
  });

  test("a missing field is shown beside it and the BFF is not asked; the key is kept", async () => {
    const key = await formKey();
    const page = await browser.post("/checkout", { ...ADDRESS, city: " ", country: "Britain", card_token: "tok_visa", idempotency_key: key });
    expect(page.status).toBe(400);
    const text = textOf(page.html);
    expect(text).toContain("Enter the city");
    expect(text).toContain("Enter a two-letter country code");
    expect(page.html).toContain('aria-describedby="city-error"');
    expect(page.html).toContain(`value="${key}"`);
    expect(checkoutCalls()).toHaveLength(0);
  });

  test("a delivery date in the past is refused beside its field", async () => {
    const { page } = await placeOrder({ delivery_date: "2001-01-01" });
    expect(page.status).toBe(400);
    expect(textOf(page.html)).toContain("Choose a delivery date from today to a year ahead");
    expect(checkoutCalls()).toHaveLength(0);
  });

  test("a card that is not one of the test cards, or a form without its key: refused, nothing sent", async () => {
    const bad = await placeOrder({ card_token: "4242424242424242" });
    expect(bad.page.status).toBe(400);
    expect(textOf(bad.page.html)).toContain("Choose a test card");
    const keyless = await browser.post("/checkout", { ...ADDRESS, card_token: "tok_visa" });
    expect(keyless.status).toBe(400);
    expect(textOf(keyless.html)).toContain("This form has expired");
    expect(checkoutCalls()).toHaveLength(0);
  });

  test("the BFF does not answer in time: the form again with the same key, saying pressing again is safe", async () => {
    const key = await formKey();
    stub.state.fault = "hang";
    const page = await browser.post("/checkout", { ...ADDRESS, card_token: "tok_visa", idempotency_key: key });
    expect(page.status).toBe(503);
    expect(textOf(page.html)).toContain("You will not be charged twice");
    expect(page.html).toContain(`name="idempotency_key" value="${key}"`);
    expect(page.html).toContain('value="Ada Lovelace"');
    // Pressing again: the same key, one order.
    stub.state.fault = null;
    const again = await browser.post("/checkout", { ...ADDRESS, card_token: "tok_visa", idempotency_key: key });
    expect(again.location).toBe("/orders/41?notice=order-confirmed");
    expect(stub.state.orders.size).toBe(1);
  });

  test("the BFF says orders is unavailable (503, nothing written): 'nothing was charged', the same key", async () => {
    stub.on("POST", "/checkout", (c) => c.json({ error: { code: "UPSTREAM_UNAVAILABLE", message: "orders cannot serve this now" } }, 503, { "retry-after": "1" }));
    const { key, page } = await placeOrder();
    expect(page.status).toBe(503);
    expect(textOf(page.html)).toContain("nothing was charged");
    expect(page.html).toContain(`value="${key}"`);
  });

  test("a request with this key still running (409 IDEMPOTENCY_IN_PROGRESS): wait and press again, same key", async () => {
    stub.on("POST", "/checkout", (c) => c.json({ error: { code: "IDEMPOTENCY_IN_PROGRESS", message: "still running" } }, 409, { "retry-after": "1" }));
    const { key, page } = await placeOrder();
    expect(page.status).toBe(409);
    expect(textOf(page.html)).toContain("still being placed");
    expect(page.html).toContain(`value="${key}"`);
  });

  test("an empty cart at the BFF (400 CART_EMPTY): says so", async () => {
    const key = await formKey();
    stub.state.carts.set(1, new Map());
    const page = await browser.post("/checkout", { ...ADDRESS, card_token: "tok_visa", idempotency_key: key });
    expect(page.status).toBe(400);
    expect(textOf(page.html)).toContain("Your cart is empty.");
  });
});

test("cancelling an order: the BFF's cancel, then the order page says so", async () => {
  const { page } = await placeOrder();
  const cancel = await browser.post("/orders/41/cancel");
  expect(cancel.status).toBe(303);
  expect(cancel.location).toBe("/orders/41?notice=order-cancelled");
  const order = textOf((await browser.get(cancel.location!)).html);
  expect(order).toContain("Your order is cancelled");
  expect(order).toContain("This order was cancelled: cancelled by the customer.");
  expect(page.status).toBe(303);
});
