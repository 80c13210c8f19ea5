// The storefront in a real browser (Debian's Chromium through playwright-core) against every real app started
// as its own process (real Postgres, real Redis): register and log in, the cart count in the header, checkout
// confirmed and declined, inventory failing, another user's order, the admin's price change and the status
// page's breaker. Every page visited is screenshotted into
// test-artifacts/screenshots/ and checked with axe-core; the home page's weight is measured on the wire.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { APPS, type AppName, type Ports } from "../../scripts/apps.ts";
import { freshAuthSecrets, type AuthSecrets } from "../../scripts/auth.ts";
import { waitUntilReady } from "../../scripts/wait-ready.ts";
import { requireRedis } from "../../shared/src/testing/test-redis.ts";
import { ADMIN_EMAIL, DEMO_PASSWORD, login, newCustomer, type Session } from "../support/accounts.ts";
import { launchChromium, newContext, pageChecker, requireChromium, transferredBytes } from "../support/browser.ts";
import { pollUntil } from "../support/poll.ts";
import { startProcess, type TestProcess } from "../support/processes.ts";
import { appProcessEnv, freshQueue, freshStorage, pickPorts, READY_TIMEOUT_MS, startApps, stopAll, type QueueSpace, type Storage } from "../support/stack.ts";

const SUITE = "the storefront browser tests";
const redisUp = await requireRedis(SUITE);
const chromiumHere = requireChromium(SUITE);
const runnable = redisUp && chromiumHere;

const STACK_ENV = {
  // Every test registers users from one address, and pages fan out into several BFF calls each.
  RATE_LIMIT_AUTH_IP: "1000/60",
  RATE_LIMIT_AUTH_EMAIL: "1000/60",
  RATE_LIMIT_IP: "100000/60",
  RATE_LIMIT_USER: "100000/60",
};
// A shared, slow machine: a browser step plus a saga may take a while; nothing here waits longer than it must.
const TEST_TIMEOUT_MS = 120_000;
const SETTLE_MS = 45_000;
const STOCK_BANNER = "Stock is unavailable right now";
const PASSWORD = "correct horse battery";
const ADDRESS = { name: "Ada Lovelace", line1: "12 Analytical St", city: "London", postal_code: "N1 9GU" };
const PRODUCT = 1;
/** The product whose price the admin test changes, and to what (pounds, as the admin form takes it). */
const PRICED = 3;
const NEW_PRICE = "31.17";
/** The home page's HTML and CSS on the wire, images aside (issue 12). */
const PAGE_WEIGHT_LIMIT = 60 * 1024;

let ports: Ports;
let storage: Storage | undefined;
let queue: QueueSpace | undefined;
let secrets: AuthSecrets;
let apps: TestProcess[] = [];
let browser: Browser | undefined;
let admin: Session;
const contexts: BrowserContext[] = [];

const stackEnv = (): Record<string, string> => ({ ...storage!.env, ...queue!.env, ...STACK_ENV });
const webUrl = () => `http://127.0.0.1:${ports.web}`;
const bffUrl = () => `http://127.0.0.1:${ports.bff}`;
const json = { "content-type": "application/json" };

beforeAll(async () => {
  if (!runnable) return;
  ports = pickPorts();
  storage = await freshStorage("browser");
  queue = freshQueue("browser");
  secrets = await freshAuthSecrets();
  // Started together: Chromium's start-up overlaps the apps'.
  const [started, launched] = await Promise.allSettled([startApps(ports, stackEnv(), secrets), launchChromium()]);
  if (started.status === "fulfilled") apps = started.value;
  if (launched.status === "fulfilled") browser = launched.value;
  if (started.status === "rejected") throw started.reason;
  if (launched.status === "rejected") throw launched.reason;
  admin = await login(bffUrl(), ADMIN_EMAIL);
  await setStock(PRODUCT, 1000);
}, READY_TIMEOUT_MS + 90_000);

afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.allSettled(contexts.splice(0).map((c) => c.close()));
  await browser?.close().catch(() => {});
  await stopAll(apps);
  await queue?.cleanup();
  await storage?.cleanup();
}, 90_000);

/** A new browser context (its own cookies) and tab for one test, closed after it. */
async function openTab(): Promise<Page> {
  const context = await newContext(browser!, webUrl());
  contexts.push(context);
  return context.newPage();
}

async function setStock(productId: number, inventory: number) {
  const res = await fetch(`${bffUrl()}/admin/products/${productId}/inventory`, { method: "PUT", headers: { ...json, ...admin.auth }, body: JSON.stringify({ inventory }) });
  expect(res.status).toBe(200);
}

/** Starts `name` again with the stack's settings plus `extra` (as tests/checkout.test.ts does). */
async function restart(name: AppName, extra: Record<string, string> = {}) {
  const i = apps.findIndex((a) => a.name === name);
  await apps[i]!.stop();
  const entry = APPS.find((a) => a.name === name)!.entry;
  apps[i] = startProcess(name, [entry], { ...appProcessEnv(name, ports, stackEnv(), secrets), ...extra });
  await waitUntilReady(`http://127.0.0.1:${ports[name]}/ready`, { timeoutMs: 30_000 });
}

let registered = 0;
const newEmail = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${registered++}@example.test`;

type Check = ReturnType<typeof pageChecker>;

/** Registers a new account through the register form; the browser ends on the home page, logged in. */
async function register(page: Page, check: Check, label: string): Promise<string> {
  const email = newEmail(label);
  await page.goto("/register");
  await check(page, "register");
  await page.getByLabel("Name").fill(label);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/\?notice=welcome/), page.getByRole("button", { name: "Create account" }).click()]);
  await expect(page.getByRole("button", { name: "Log out" }).isVisible()).resolves.toBe(true);
  await check(page, "home after registering");
  return email;
}

/** The number in the header's cart link. */
const headerCartCount = (page: Page) => page.locator('header.site a[href="/cart"] .count').innerText();

/** Adds PRODUCT to the cart from the home page's grid. */
async function addToCart(page: Page) {
  const button = page.locator(`#product-${PRODUCT} form[action="/cart/items"] button`);
  await Promise.all([page.waitForURL(/notice=cart-added/), button.click()]);
}

/** Fills the checkout form with `card` and presses "Place order". */
async function placeOrder(page: Page, check: Check, card: "tok_visa" | "tok_decline") {
  await page.goto("/checkout");
  await check(page, `checkout ${card}`);
  await page.getByLabel("Full name").fill(ADDRESS.name);
  await page.getByLabel("Street address").fill(ADDRESS.line1);
  await page.getByLabel("City").fill(ADDRESS.city);
  await page.getByLabel("Postcode").fill(ADDRESS.postal_code);
  await page.getByLabel("Payment").selectOption(card);
  const posted = page.waitForResponse((r) => new URL(r.url()).pathname === "/checkout" && r.request().method() === "POST", { timeout: SETTLE_MS });
  const [response] = await Promise.all([posted, page.getByRole("button", { name: "Place order" }).click()]);
  return response.status();
}

/** The order page's status, as the page words it. */
const orderStatus = (page: Page) => page.locator("dt:text-is('Status') + dd").innerText();

/** The inventory row's breaker state on /status, in words ("Open: ...", "Closed: ..."). */
const inventoryBreaker = (page: Page) => page.locator("tr", { has: page.locator("th[scope=row]", { hasText: /^inventory$/ }) }).locator(".state");

/**
 * Runs `body` with inventory restarted to fail every data request (INVENTORY_FAIL_RATE=1), then starts it
 * again as it was and waits until the grid has its stock back (the BFF's breaker probes again after its open
 * period), so the next test finds the stack whole.
 */
async function withInventoryFailing(page: Page, body: () => Promise<void>) {
  await restart("inventory", { INVENTORY_FAIL_RATE: "1" });
  try {
    await body();
  } finally {
    await restart("inventory");
  }
  await pollUntil("the stock banner gone", SETTLE_MS, async () => {
    await page.goto("/");
    return (await page.getByText(STOCK_BANNER).count()) === 0 ? true : undefined;
  }, 500);
}

/** Logs in through the login form; the browser ends on the home page. */
async function logIn(page: Page, check: Check, email: string, password: string) {
  await page.goto("/login");
  await check(page, "login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL(/notice=logged-in/), page.getByRole("button", { name: "Log in" }).click()]);
}

describe.skipIf(!runnable)("the storefront in Chromium", () => {
  test(
    "register, log out and log in again through the forms",
    async () => {
      const check = pageChecker("register and log in");
      const page = await openTab();
      await page.goto("/");
      await check(page, "home as a visitor");
      const email = await register(page, check, "browser-login");
      await Promise.all([page.waitForURL(/notice=logged-out/), page.getByRole("button", { name: "Log out" }).click()]);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Log in", exact: true }).waitFor();
      await check(page, "home after logging out");

      await logIn(page, check, email, PASSWORD);
      await expect(page.getByRole("status").first().innerText()).resolves.toContain("You are logged in.");
      await expect(page.getByRole("button", { name: "Log out" }).isVisible()).resolves.toBe(true);
      await check(page, "home after logging in");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a wrong password is refused on the login page in words",
    async () => {
      const check = pageChecker("login refused");
      const page = await openTab();
      await page.goto("/login");
      await page.getByLabel("Email").fill("user1@storefront.test");
      await page.getByLabel("Password").fill("not the password");
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Log in" }).click()]);
      expect(response.status()).toBe(401);
      await expect(page.getByRole("alert").innerText()).resolves.toContain("That email and password do not match an account.");
      await check(page, "login refused");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "adding a product to the cart changes the header's cart count, and the cart lists it",
    async () => {
      const check = pageChecker("add to cart");
      const page = await openTab();
      await register(page, check, "browser-cart");
      expect(await headerCartCount(page)).toBe("0");
      await addToCart(page);
      expect(await headerCartCount(page)).toBe("1");
      await check(page, "home after adding");
      await page.goto("/cart");
      expect(await headerCartCount(page)).toBe("1");
      await expect(page.locator("main").innerText()).resolves.toContain("Remove");
      await check(page, "cart");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "checking out with tok_visa lands on the order's page, confirmed",
    async () => {
      const check = pageChecker("checkout visa");
      const page = await openTab();
      await register(page, check, "browser-visa");
      await addToCart(page);
      expect(await placeOrder(page, check, "tok_visa")).toBe(303);
      await page.waitForURL(/\/orders\/\d+\?notice=order-(confirmed|processing)/);
      // 201 lands confirmed at once; a 202 (the saga still settling on a slow machine) gets there on a reload.
      await pollUntil("the order page says Confirmed", SETTLE_MS, async () => {
        if ((await orderStatus(page)) === "Confirmed") return true;
        await page.reload();
        return undefined;
      }, 500);
      await expect(page.locator("h1").innerText()).resolves.toMatch(/^Order #\d+$/);
      await check(page, "confirmed order");
      // The cart is emptied by the saga's last steps.
      await pollUntil("the cart count back to 0", SETTLE_MS, async () => {
        await page.goto("/");
        return (await headerCartCount(page)) === "0" ? true : undefined;
      }, 500);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "checking out with tok_decline stays on the checkout form and says the card was declined",
    async () => {
      const check = pageChecker("checkout decline");
      const page = await openTab();
      await register(page, check, "browser-decline");
      await addToCart(page);
      expect(await placeOrder(page, check, "tok_decline")).toBe(402);
      await page.waitForLoadState();
      expect(new URL(page.url()).pathname).toBe("/checkout");
      await expect(page.getByRole("alert").innerText()).resolves.toContain("Your card was declined. Nothing was charged.");
      await check(page, "declined");
      // The attempt is on record as a cancelled order, and nothing else is.
      await page.goto("/orders");
      const statuses = await page.locator("main tbody tr td:nth-child(3)").allInnerTexts();
      expect(statuses).toEqual(["Cancelled"]);
      await check(page, "orders after decline");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a user opening another user's order gets the 404 page",
    async () => {
      const check = pageChecker("another users order");
      // The other user's order, placed through the BFF as any client would.
      const owner = await newCustomer(bffUrl(), "browser-owner");
      const added = await fetch(`${bffUrl()}/cart`, { method: "POST", headers: { ...json, ...owner.auth }, body: JSON.stringify({ product_id: PRODUCT, quantity: 1 }) });
      expect(added.status).toBe(200);
      const placed = await fetch(`${bffUrl()}/checkout`, {
        method: "POST",
        headers: { ...json, ...owner.auth, "idempotency-key": crypto.randomUUID() },
        body: JSON.stringify({ shipping_address: { ...ADDRESS, country: "GB" }, card_token: "tok_visa" }),
      });
      expect([201, 202]).toContain(placed.status);
      const { order_id: orderId } = (await placed.json()) as { order_id: number };

      const page = await openTab();
      await register(page, check, "browser-intruder");
      const response = await page.goto(`/orders/${orderId}`);
      expect(response?.status()).toBe(404);
      await expect(page.locator("h1").innerText()).resolves.toBe("Not found");
      await expect(page.locator("main").innerText()).resolves.not.toContain(ADDRESS.line1);
      await check(page, "order of another user");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the home page's HTML and CSS weigh under 60 KB on the wire, for a visitor and for a logged-in user",
    async () => {
      const check = pageChecker("page weight");
      const page = await openTab();
      const weigh = async (label: string) => {
        let bytes = 0;
        const counted: Promise<void>[] = [];
        const onResponse = (r: Response) => {
          const kind = r.request().resourceType();
          if (kind === "document" || kind === "stylesheet") counted.push(transferredBytes(r).then((n) => void (bytes += n)));
        };
        page.on("response", onResponse);
        await page.goto("/", { waitUntil: "load" });
        page.off("response", onResponse);
        await Promise.all(counted);
        await check(page, `home ${label}`);
        console.info(`home page (${label}): ${bytes} bytes of HTML and CSS transferred`);
        expect(bytes).toBeGreaterThan(0);
        expect(bytes).toBeLessThan(PAGE_WEIGHT_LIMIT);
      };
      await weigh("as a visitor");
      await register(page, check, "browser-weight");
      await weigh("logged in");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "inventory failing: the grid still renders with the stock banner, and it goes once inventory is back",
    async () => {
      const check = pageChecker("inventory failing");
      const page = await openTab();
      await register(page, check, "browser-degraded");
      await withInventoryFailing(page, async () => {
        await page.goto("/");
        await expect(page.getByRole("status").filter({ hasText: STOCK_BANNER }).count()).resolves.toBe(1);
        expect(await page.locator("ul.grid li.card").count()).toBeGreaterThan(0);
        await expect(page.locator(`#product-${PRODUCT} h2`).innerText()).resolves.not.toBe("");
        await check(page, "home with inventory failing");
      });
      await page.goto("/");
      await check(page, "home with inventory back");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the admin changes a price on the admin page and the grid shows it",
    async () => {
      const check = pageChecker("admin price");
      const page = await openTab();
      await logIn(page, check, ADMIN_EMAIL, DEMO_PASSWORD);
      await page.goto("/admin");
      await check(page, "admin");
      await page.locator(`#price-${PRICED}`).fill(NEW_PRICE);
      await Promise.all([page.waitForURL(/notice=price-updated/), page.locator(`form[action="/admin/products/${PRICED}/price"] button`).click()]);
      await check(page, "admin after the price change");
      // The BFF may serve the listing from its short-lived copy for a moment: reload until the grid has it.
      await pollUntil("the grid showing the new price", SETTLE_MS, async () => {
        await page.goto("/");
        return (await page.locator(`#product-${PRICED} .price`).innerText()) === `£${NEW_PRICE}` ? true : undefined;
      }, 500);
      await check(page, "home with the new price");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the status page shows the inventory breaker open while inventory fails",
    async () => {
      const check = pageChecker("status breaker open");
      const page = await openTab();
      await logIn(page, check, ADMIN_EMAIL, DEMO_PASSWORD);
      await withInventoryFailing(page, async () => {
        // Each grid load is a failed call to inventory; the breaker opens after a few. The page is read without
        // its self-reload (?refresh=off), so the screenshot and axe see one stable page.
        await pollUntil("the inventory breaker open on /status", SETTLE_MS, async () => {
          await page.goto("/");
          await page.goto("/status?refresh=off");
          const state = await inventoryBreaker(page).innerText();
          return state.startsWith("Open") ? true : undefined;
        }, 200);
        await check(page, "status with the inventory breaker open");
      });
      await page.goto("/status?refresh=off");
      await check(page, "status with inventory back");
    },
    TEST_TIMEOUT_MS,
  );
});
