// The forms that change the cart and the favorites: each posts to the BFF with the user's token and request
// id, and answers with a redirect back (POST-redirect-GET) and a notice; `next` never leaves the site.
import { beforeEach, describe, expect, test } from "bun:test";
import { safeNext, withNotice } from "./forms.ts";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
beforeEach(async () => {
  ({ stub, browser } = await webApp());
  await browser.login("user1@storefront.test");
  stub.requests.length = 0;
});

const writes = () => stub.requests.filter((r) => r.method !== "GET");

describe("the cart", () => {
  test("Add to cart posts the product (quantity 1) to the BFF as the user, and goes back to the product with a notice", async () => {
    const page = await browser.post("/cart/items", { product_id: "3", next: "/#product-3" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/?notice=cart-added#product-3");
    const [call] = writes();
    expect(call).toMatchObject({ method: "POST", path: "/cart", body: { product_id: 3, quantity: 1 }, authorization: `Bearer ${browser.jar.get("sf_access")}` });
    expect(call!.requestId).toBe(page.headers.get("x-request-id"));
    const home = textOf((await browser.get(page.location!)).html);
    expect(home).toContain("Added to your cart.");
    expect(home).toContain("Cart 1 line");
  });

  test("the count in the header follows the cart", async () => {
    await browser.post("/cart/items", { product_id: "1", next: "/" });
    await browser.post("/cart/items", { product_id: "3", next: "/" });
    expect(textOf((await browser.get("/")).html)).toContain("Cart 2 lines");
  });

  test("a line that would pass 999 is refused by the BFF: the notice says so", async () => {
    stub.state.carts.set(1, new Map([[1, 999]]));
    const page = await browser.post("/cart/items", { product_id: "1", next: "/" });
    expect(page.location).toBe("/?notice=cart-not-added");
  });

  test("changing a quantity is a PUT, 0 removes the line, Remove is a DELETE", async () => {
    stub.state.carts.set(1, new Map([[1, 1], [3, 1]]));
    expect((await browser.post("/cart/1", { quantity: "4" })).location).toBe("/cart?notice=cart-updated");
    expect(stub.state.carts.get(1)!.get(1)).toBe(4);
    expect((await browser.post("/cart/1", { quantity: "0" })).location).toBe("/cart?notice=cart-removed");
    expect((await browser.post("/cart/3/remove")).location).toBe("/cart?notice=cart-removed");
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /cart/1", "DELETE /cart/1", "DELETE /cart/3"]);
    expect(textOf((await browser.get("/cart")).html)).toContain("Your cart is empty.");
  });

  test("a quantity that is not a number from 0 to 999 changes nothing", async () => {
    for (const quantity of ["-1", "1000", "abc", "1.5", ""]) {
      expect((await browser.post("/cart/1", { quantity })).location).toBe("/cart?notice=cart-not-updated");
    }
    expect(writes()).toHaveLength(0);
  });

  test("a visitor's Add to cart goes to the login page, and back afterwards", async () => {
    await browser.post("/logout");
    const page = await browser.post("/cart/items", { product_id: "1", next: "/products/1" });
    expect(page.status).toBe(303);
    expect(page.location).toBe("/login?next=%2Fproducts%2F1&notice=login-needed");
    expect(writes().filter((r) => r.path === "/cart")).toHaveLength(0);
  });
});

describe("favorites", () => {
  test("the toggle adds and removes a favorite, and the page shows which it is", async () => {
    const add = await browser.post("/favorites", { product_id: "1", next: "/products/1" });
    expect(add.location).toBe("/products/1?notice=favorite-added");
    expect((await browser.get("/products/1")).html).toContain('action="/favorites/1/remove"');
    const remove = await browser.post("/favorites/1/remove", { next: "/products/1" });
    expect(remove.location).toBe("/products/1?notice=favorite-removed");
    expect((await browser.get("/products/1")).html).not.toContain('action="/favorites/1/remove"');
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual(["POST /favorites", "DELETE /favorites/1"]);
  });

  test("the favorites page lists them by name with their price", async () => {
    stub.state.favorites.set(1, new Set([3]));
    const text = textOf((await browser.get("/favorites")).html);
    expect(text).toContain("Ceramic pour-over");
    expect(text).toContain("£22.00");
  });
});

describe("where a form sends the browser back to", () => {
  test("only a path on this site", () => {
    expect(safeNext("/cart")).toBe("/cart");
    expect(safeNext("/?after=24#product-30")).toBe("/?after=24#product-30");
    for (const evil of ["//evil.test", "https://evil.test", "/\\evil.test", "evil", "/\r\nset-cookie:x", undefined, ""]) expect(safeNext(evil)).toBe("/");
  });

  test("a form's foreign next is ignored", async () => {
    const page = await browser.post("/cart/items", { product_id: "1", next: "//evil.test/" });
    expect(page.location).toBe("/cart?notice=cart-added");
  });

  test("withNotice replaces a notice already there and keeps the anchor", () => {
    expect(withNotice("/?notice=cart-added&after=3#p", "cart-removed")).toBe("/?notice=cart-removed&after=3#p");
  });
});
