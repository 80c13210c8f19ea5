// CSRF: every POST needs our own origin (Origin, or Sec-Fetch-Site: same-origin) and the visitor's token in the
// form's hidden field; anything else is a 403 page, and nothing reaches the BFF.
import { beforeEach, describe, expect, test } from "bun:test";
import { CSRF_FIELD } from "./csrf.ts";
import { ORIGIN, textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";

let stub: StubBff;
let browser: Browser;
let app: Awaited<ReturnType<typeof webApp>>["app"];
beforeEach(async () => {
  ({ stub, browser, app } = await webApp());
  await browser.login();
  stub.requests.length = 0;
});

const cartWrites = () => stub.requests.filter((r) => r.path === "/cart" && r.method === "POST").length;

const expectRefused = async (page: { status: number; html: string }) => {
  expect(page.status).toBe(403);
  expect(textOf(page.html)).toContain("This form could not be accepted");
  expect(cartWrites()).toBe(0);
};

describe("a POST is refused with a 403 page", () => {
  test("without the token", async () => {
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { csrf: null }));
  });

  test("with another token", async () => {
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { csrf: "A".repeat(43) }));
  });

  test("with the right token but a foreign Origin", async () => {
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { origin: "https://evil.test" }));
  });

  test("with neither Origin nor Sec-Fetch-Site", async () => {
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { origin: null }));
  });

  test("as JSON (not a form): the token cannot be in it", async () => {
    const res = await app.request("/cart/items", {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN, cookie: [...browser.jar].map(([k, v]) => `${k}=${v}`).join("; ") },
      body: JSON.stringify({ product_id: 1, [CSRF_FIELD]: browser.jar.get("sf_csrf") }),
    });
    await expectRefused({ status: res.status, html: await res.text() });
  });

  test("without a token cookie (cookies blocked, or the first request is a POST)", async () => {
    const token = browser.jar.get("sf_csrf")!;
    browser.jar.delete("sf_csrf");
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { csrf: token }));
  });

  test("with the token from before the login (it is replaced at login)", async () => {
    const before = browser.jar.get("sf_csrf")!;
    await browser.login("user2@storefront.test");
    await expectRefused(await browser.post("/cart/items", { product_id: "1" }, { csrf: before }));
  });

  test("on the login form too", async () => {
    await browser.post("/logout");
    const page = await browser.post("/login", { email: "user1@storefront.test", password: "storefront-demo" }, { csrf: null });
    expect(page.status).toBe(403);
    expect(stub.requests.some((r) => r.path === "/auth/login")).toBe(false);
  });
});

describe("a POST is accepted", () => {
  test("with the token and our Origin", async () => {
    const page = await browser.post("/cart/items", { product_id: "1" });
    expect(page.status).toBe(303);
    expect(cartWrites()).toBe(1);
  });

  test("with the token and Sec-Fetch-Site: same-origin (a browser behind a proxy that rewrites the host)", async () => {
    const res = await app.request("/cart/items", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "same-origin",
        origin: "https://shop.example",
        cookie: [...browser.jar].map(([k, v]) => `${k}=${v}`).join("; "),
      },
      body: new URLSearchParams({ product_id: "1", [CSRF_FIELD]: browser.jar.get("sf_csrf")! }).toString(),
    });
    expect(res.status).toBe(303);
    expect(cartWrites()).toBe(1);
  });
});

test("every form on every page carries the token", async () => {
  stub.state.carts.set(1, new Map([[1, 1]]));
  stub.state.inbox.set(1, [{ id: 1, type: "t", title: "Hello", body: "b", payload: {}, created_at: "2026-11-22T09:00:00.000Z", read_at: null }]);
  for (const path of ["/", "/products/1", "/cart", "/favorites", "/checkout", "/notifications", "/login", "/register"]) {
    const { html } = await browser.get(path);
    const forms = [...html.matchAll(/<form\b[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/g)];
    expect(forms.length, path).toBeGreaterThan(0);
    for (const form of forms) expect(form[1], `${path}: ${form[0].slice(0, 80)}`).toContain(`name="${CSRF_FIELD}" value="${browser.jar.get("sf_csrf")}"`);
  }
});
