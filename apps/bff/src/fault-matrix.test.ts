// The BFF as a real process (`bun apps/bff/src/index.ts`) with each upstream behind a fault proxy: every
// products fault x every fault of cart, favorites and orders, then every inventory fault, each hit by a burst
// of concurrent listings and forwarded writes (a checkout among them) through real sockets with real timing. In every cell the process
// stays up, every answer is a designed status within the deadlines, /metrics counts what happened, and no
// write reaches a service twice. (The in-process msw tests could not see a crash like an unhandled rejection.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createFaultProxy, describeFaultMode, EVERY_FAULT, type FaultMode, type FaultProxy } from "@storefront/shared/testing/fault-proxy";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { cleanEnv, freshQueue } from "../../../tests/support/stack.ts";
import { startFaultStubs, type FaultStubs } from "./testing/fault-stubs.ts";

const PRODUCTS_DEADLINE_MS = 150;
const INVENTORY_DEADLINE_MS = 150;
const WRITE_DEADLINE_MS = 200;
// Checkout's own deadline, at the write deadline here so one bound covers every write of the burst.
const CHECKOUT_DEADLINE_MS = WRITE_DEADLINE_MS;
// Over the deadlines: process scheduling on a shared 2-core machine, not the BFF's own work.
const MARGIN_MS = 400;

type Kind = FaultMode["kind"];
const answers = (m: FaultMode) => m.kind === "pass" || m.kind === "slow";
const hangs = (m: FaultMode) => m.kind === "blackhole" || m.kind === "stall";

/** How a call through the upstream client ends for each fault, as the bff_upstream_request_duration_seconds outcome. */
const OUTCOME: Record<Kind, string[]> = {
  pass: ["ok"],
  slow: ["ok"],
  blackhole: ["timeout"],
  stall: ["timeout"],
  reset: ["unreachable"],
  refused: ["unreachable"],
  status: ["server_error"],
  not_json: ["invalid_response"],
  wrong_shape: ["invalid_response"],
};

/** The statuses a listing may be answered with when products has this fault (503 once its breaker opens). */
const listingStatuses = (products: FaultMode) => (answers(products) ? [200] : hangs(products) ? [504, 503] : [502, 503]);

/** A forwarded write reaches the service unless the proxy answers itself; its reply, or the gateway's status. */
const writeStatuses = (m: FaultMode): number[] =>
  answers(m) ? [201] : hangs(m) ? [504, 503] : m.kind === "wrong_shape" ? [200] : [502, 503];

const ERROR_CODE: Record<number, string> = { 502: "UPSTREAM_ERROR", 503: "UPSTREAM_UNAVAILABLE", 504: "UPSTREAM_TIMEOUT" };

type Answer = { what: string; status: number; body: any; ms: number; retryAfter: string | null };

let stubs: FaultStubs;
let proxies: Record<"products" | "cart" | "favorites" | "inventory" | "orders", FaultProxy>;
let bff: TestProcess;
let url: string;
let requestSeq = 0;
const issuer = await createTestIssuer();
const rateLimitSpace = freshQueue("bff-matrix");
// One token per user, as each client holds one (so a user's concurrent listings may share upstream calls).
const tokens = new Map<number, string>();
const auth = (user: number) => ({ authorization: `Bearer ${tokens.get(user)}` });

beforeAll(async () => {
  for (const user of [1, 2, 3, 4, 5, 6, 9]) tokens.set(user, await issuer.token(user));
  stubs = startFaultStubs(issuer.jwks);
  const upstreamPort = stubs.port;
  const [products, cart, favorites, inventory, orders] = await Promise.all([0, 1, 2, 3, 4].map(() => createFaultProxy({ upstreamPort })));
  proxies = { products: products!, cart: cart!, favorites: favorites!, inventory: inventory!, orders: orders! };
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  bff = startProcess("bff", ["apps/bff/src/index.ts"], {
    ...cleanEnv(),
    PORT: String(port),
    PRODUCTS_URL: proxies.products.url,
    CART_URL: proxies.cart.url,
    FAVORITES_URL: proxies.favorites.url,
    INVENTORY_URL: proxies.inventory.url,
    ORDERS_URL: proxies.orders.url,
    NOTIFICATIONS_URL: stubs.url,
    // The keys come from the stand-in users service, outside the fault proxies: these cells are about the data path.
    USERS_URL: stubs.url,
    PRODUCTS_DEADLINE_MS: String(PRODUCTS_DEADLINE_MS),
    INVENTORY_DEADLINE_MS: String(INVENTORY_DEADLINE_MS),
    WRITE_DEADLINE_MS: String(WRITE_DEADLINE_MS),
    CHECKOUT_DEADLINE_MS: String(CHECKOUT_DEADLINE_MS),
    // Every listing calls products, and no old copy hides a failure: each cell sees its own fault.
    PRODUCTS_CACHE_TTL_MS: "0",
    PRODUCTS_CACHE_SWR_MS: "0",
    PRODUCTS_STALE_MAX_MS: "0",
    // The breakers are real (they open within a burst); short pauses so the next cell starts closed.
    BREAKER_OPEN_MS: "100",
    BREAKER_HALF_OPEN_PROBES: "1",
    // Far above what the matrix sends: these cells are about faults, not quotas (tests/identity.test.ts has those).
    RATE_LIMIT_USER: "1000000/60",
    RATE_LIMIT_IP: "1000000/60",
    QUEUE_PREFIX: rateLimitSpace.prefix,
    LOG_LEVEL: "warn",
  });
  await waitUntilReady(`${url}/ready`, { timeoutMs: 15_000 });
});

afterAll(async () => {
  await bff?.stop();
  await rateLimitSpace.cleanup();
  await Promise.all(Object.values(proxies ?? {}).map((p) => p.close()));
  await stubs?.stop();
});

async function request(what: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  // The test's own bound, far above any designed answer: a hung BFF fails the cell instead of the run.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const res = await fetch(url + path, { ...init, signal: controller.signal });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { what, status: res.status, body, ms: performance.now() - started, retryAfter: res.headers.get("retry-after") };
  } finally {
    clearTimeout(timer);
  }
}

const write = (path: string, user: number, json: unknown, headers: Record<string, string> = {}) =>
  request(`POST ${path}`, path, {
    method: "POST",
    headers: { ...auth(user), ...headers, "content-type": "application/json", "x-request-id": `write-${++requestSeq}` },
    body: JSON.stringify(json),
  });

const order = { shipping_address: { name: "Ada", line1: "1 Road", city: "Town", postal_code: "1000", country: "BE" }, card_token: "tok_visa" };

/** Seven listings (two pairs share a single flight, one anonymous) and three writes (a checkout among them), all at once. */
const burst = () =>
  Promise.all([
    ...[1, 1, 2, 2, 3, 4].map((user) => request("listing", "/products/all", { headers: auth(user) })),
    request("anonymous listing", "/products/all"),
    write("/cart", 5, { product_id: 1, quantity: 1 }),
    write("/favorites", 6, { product_id: 2 }),
    write("/checkout", 4, order, { "idempotency-key": `checkout-${requestSeq}` }),
  ]);

type Metrics = Map<string, number>;
async function metrics(): Promise<Metrics> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Metrics = new Map();
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/);
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}
const delta = (before: Metrics, after: Metrics, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
const requestsKey = (method: string, route: string, status: number) => `http_requests_total{method="${method}",route="${route}",status="${status}"}`;

/** Outcomes recorded for an upstream during the cell, as {outcome: count}. */
function outcomes(before: Metrics, after: Metrics, upstream: string): Record<string, number> {
  const out: Record<string, number> = {};
  const prefix = `bff_upstream_request_duration_seconds_count{upstream="${upstream}",outcome="`;
  for (const key of after.keys()) {
    if (!key.startsWith(prefix)) continue;
    const n = delta(before, after, key);
    if (n > 0) out[key.slice(prefix.length, -2)] = n;
  }
  return out;
}

/** Back to a healthy start: every proxy passing and every breaker closed again. */
async function settle() {
  await Promise.all(Object.values(proxies).map((p) => p.setMode({ kind: "pass" })));
  const until = Date.now() + 5000;
  for (;;) {
    const { upstreams } = (await (await fetch(`${url}/health/upstreams`)).json()) as { upstreams: { name: string; state: string }[] };
    if (upstreams.every((u) => u.state === "closed")) return;
    if (Date.now() > until) throw new Error(`breakers did not close: ${JSON.stringify(upstreams)}`);
    await Bun.sleep(60);
    // A listing for a user probes products, cart, favorites and inventory; a read of the orders probes orders.
    await request("probe", "/products/all", { headers: auth(9) });
    await request("probe", "/orders", { headers: auth(9) });
  }
}

type Cell = { products: FaultMode; optional: FaultMode; inventory: FaultMode };

async function runCell(cell: Cell) {
  await settle();
  await proxies.products.setMode(cell.products);
  await Promise.all([proxies.cart.setMode(cell.optional), proxies.favorites.setMode(cell.optional), proxies.orders.setMode(cell.optional)]);
  await proxies.inventory.setMode(cell.inventory);
  const writesBefore = stubs.writesSeen();
  const before = await metrics();
  const results = await burst();
  const after = await metrics();

  // Every broken expectation, as a sentence: the cell fails with all of them listed.
  const broken: string[] = [];
  const check = (ok: boolean, what: () => string) => void (ok || broken.push(what()));
  const oneOf = <T>(value: T, allowed: readonly T[]) => allowed.includes(value);

  // 1. The process is alive and answers.
  check(bff.proc.exitCode === null, () => `the BFF exited (${bff.proc.exitCode})`);
  check((await fetch(`${url}/health`)).status === 200, () => "GET /health did not answer 200");
  for (const kind of ["unhandled_rejection", "uncaught_exception"]) {
    const n = after.get(`process_unhandled_errors_total{kind="${kind}"}`);
    check(n === 0, () => `process_unhandled_errors_total{kind="${kind}"} is ${n}`);
  }

  // 2. Every answer is a designed status, in the envelope when it is an error, within the deadlines.
  for (const r of results) {
    const isListing = r.what.endsWith("listing");
    const allowed = isListing ? listingStatuses(cell.products) : writeStatuses(cell.optional);
    check(oneOf(r.status, allowed), () => `${r.what}: ${r.status} ${JSON.stringify(r.body)}, expected one of ${allowed}`);
    const bound = (isListing ? PRODUCTS_DEADLINE_MS + INVENTORY_DEADLINE_MS : WRITE_DEADLINE_MS) + MARGIN_MS;
    check(r.ms <= bound, () => `${r.what}: answered in ${Math.round(r.ms)} ms, over ${bound} ms`);
    if (r.status >= 500) {
      const error = r.body?.error;
      check(error?.code === ERROR_CODE[r.status] && typeof error?.message === "string" && Object.keys(r.body).length === 1, () => `${r.what}: ${r.status} not in the envelope: ${JSON.stringify(r.body)}`);
      if (r.status === 503) check(Number(r.retryAfter) >= 1, () => `${r.what}: 503 without Retry-After`);
    }
    if (isListing && r.status === 200) {
      const anonymous = r.what === "anonymous listing";
      const expected = [...(anonymous || answers(cell.optional) ? [] : ["cart", "favorites"]), ...(answers(cell.inventory) ? [] : ["inventory"])];
      check(JSON.stringify(r.body.degraded) === JSON.stringify(expected), () => `${r.what}: degraded ${JSON.stringify(r.body.degraded)}, expected ${JSON.stringify(expected)}`);
      check(r.body.products?.length === stubs.catalogue.length, () => `${r.what}: ${r.body.products?.length} products`);
      const cartItems = anonymous || !answers(cell.optional) ? null : stubs.cartLines;
      check(r.body.cart_items === cartItems, () => `${r.what}: cart_items ${r.body.cart_items}, expected ${cartItems}`);
      const stock = r.body.products?.map((p: { inventory: unknown }) => p.inventory) ?? [];
      check(stock.every((n: unknown) => (answers(cell.inventory) ? typeof n === "number" : n === null)), () => `${r.what}: inventory ${JSON.stringify(stock)}`);
    }
  }

  // 3. /metrics counts what happened: each answer under its route and status, each upstream call's outcome.
  const listings = results.filter((r) => r.what.endsWith("listing"));
  for (const status of new Set(listings.map((r) => r.status))) {
    const counted = delta(before, after, requestsKey("GET", "/products/all", status));
    const answered = listings.filter((r) => r.status === status).length;
    check(counted === answered, () => `/metrics counted ${counted} listings answered ${status}, the test saw ${answered}`);
  }
  for (const [route, what] of [["/cart", "POST /cart"], ["/favorites", "POST /favorites"], ["/checkout", "POST /checkout"]] as const) {
    const status = results.find((x) => x.what === what)!.status;
    const counted = delta(before, after, requestsKey("POST", route, status));
    check(counted === 1, () => `/metrics counted ${counted} ${what} answered ${status}, the test saw 1`);
  }
  const expectOutcomes = (upstream: string, allowed: string[], required: string[]) => {
    const seen = Object.keys(outcomes(before, after, upstream));
    check(seen.length > 0, () => `/metrics: no ${upstream} call recorded`);
    for (const outcome of required) check(seen.includes(outcome), () => `/metrics: no ${upstream} call ended "${outcome}" (saw ${seen})`);
    for (const outcome of seen) check(allowed.includes(outcome), () => `/metrics: a ${upstream} call ended "${outcome}", expected one of ${allowed}`);
  };
  // A failing upstream's breaker may open during the burst, or be open already: its window carries the
  // failures of the cells before. A healthy one must have answered.
  const required = (m: FaultMode) => (answers(m) ? OUTCOME[m.kind] : []);
  expectOutcomes("products", [...OUTCOME[cell.products.kind], "circuit_open"], required(cell.products));
  // Listings abandon the optional calls when products fails ("aborted"); the writes always go, and a write's
  // reply is passed on as it is (a wrong shape included: the BFF does not validate what a service answers).
  for (const upstream of ["cart", "favorites"]) {
    const writeOutcome = cell.optional.kind === "wrong_shape" ? ["ok"] : [];
    expectOutcomes(upstream, [...OUTCOME[cell.optional.kind], ...writeOutcome, "aborted", "circuit_open"], required(cell.optional));
  }
  // Orders is called by the checkout alone.
  expectOutcomes("orders", [...OUTCOME[cell.optional.kind], ...(cell.optional.kind === "wrong_shape" ? ["ok"] : []), "circuit_open"], required(cell.optional));
  if (answers(cell.products)) expectOutcomes("inventory", [...OUTCOME[cell.inventory.kind], "circuit_open"], required(cell.inventory));

  // 4. Nothing was written twice: each forwarded write reached its service at most once (never retried),
  //    and exactly once when the service answered it.
  const writes = stubs.writesSince(writesBefore);
  for (const [id, count] of writes) check(count === 1, () => `write ${id} reached the service ${count} times`);
  if (answers(cell.optional)) check(writes.size === 3, () => `${writes.size} of 3 writes reached the services`);

  expect(broken).toEqual([]);
}

const PASS: FaultMode = { kind: "pass" };

describe("the BFF under every upstream fault, on real sockets", () => {
  for (const products of EVERY_FAULT) {
    test(`products ${describeFaultMode(products)} x cart, favorites and orders in every mode`, async () => {
      for (const optional of EVERY_FAULT) {
        try {
          await runCell({ products, optional, inventory: PASS });
        } catch (err) {
          throw new Error(`cell products=${describeFaultMode(products)} optional=${describeFaultMode(optional)}: ${(err as Error).message}\n${bff.output.slice(-10).join("\n")}`);
        }
      }
    });
  }

  test("inventory in every mode, the others passing", async () => {
    for (const inventory of EVERY_FAULT) {
      try {
        await runCell({ products: PASS, optional: PASS, inventory });
      } catch (err) {
        throw new Error(`cell inventory=${describeFaultMode(inventory)}: ${(err as Error).message}\n${bff.output.slice(-10).join("\n")}`);
      }
    }
  });

  test("afterwards: still one process, no unhandled error logged, and a full listing", async () => {
    await settle();
    expect(bff.proc.exitCode).toBeNull();
    expect(bff.output.filter((line) => /unhandled|uncaught/i.test(line))).toEqual([]);
    const r = await request("listing", "/products/all", { headers: auth(1) });
    expect({ status: r.status, degraded: r.body.degraded }).toEqual({ status: 200, degraded: [] });
  });
});
