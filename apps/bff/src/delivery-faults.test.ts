// The BFF as a real process (`bun apps/bff/src/index.ts`) with the delivery service behind a fault proxy at
// DELIVERY_URL: the delivery routes reach it with the caller's token, and under every fault a burst of admin
// reads and courier writes is answered with a designed status within the write deadline, no write reaches
// delivery twice, the process stays up, and the other upstreams are not dragged down with it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createFaultProxy, describeFaultMode, EVERY_FAULT, type FaultMode, type FaultProxy } from "@storefront/shared/testing/fault-proxy";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { cleanEnv, freshQueue } from "../../../tests/support/stack.ts";
import { startFaultStubs, type FaultStubs } from "./testing/fault-stubs.ts";

const WRITE_DEADLINE_MS = 200;
// Over the deadline: process scheduling on a shared 2-core machine, not the BFF's own work.
const MARGIN_MS = 400;
const ERROR_CODE: Record<number, string> = { 502: "UPSTREAM_ERROR", 503: "UPSTREAM_UNAVAILABLE", 504: "UPSTREAM_TIMEOUT" };

const issuer = await createTestIssuer();
const space = freshQueue("bff-delivery-faults");
let stubs: FaultStubs;
let delivery: FaultProxy;
let bff: TestProcess;
let url: string;
let admin: Record<string, string>;
let courier: Record<string, string>;
let customer: Record<string, string>;
let requestSeq = 0;

beforeAll(async () => {
  admin = await issuer.auth(1, "admin");
  courier = await issuer.auth(7, "courier");
  customer = await issuer.auth(5);
  stubs = startFaultStubs(issuer.jwks);
  delivery = await createFaultProxy({ upstreamPort: stubs.port });
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  bff = startProcess("bff", ["apps/bff/src/index.ts"], {
    ...cleanEnv(),
    PORT: String(port),
    ...Object.fromEntries(["PRODUCTS", "INVENTORY", "CART", "FAVORITES", "NOTIFICATIONS", "USERS", "ORDERS"].map((s) => [`${s}_URL`, stubs.url])),
    DELIVERY_URL: delivery.url,
    WRITE_DEADLINE_MS: String(WRITE_DEADLINE_MS),
    // Real breakers (they open within a burst), with short pauses so the next fault starts closed.
    BREAKER_OPEN_MS: "100",
    BREAKER_HALF_OPEN_PROBES: "1",
    RATE_LIMIT_USER: "1000000/60",
    RATE_LIMIT_IP: "1000000/60",
    QUEUE_PREFIX: space.prefix,
    LOG_LEVEL: "warn",
  });
  await waitUntilReady(`${url}/ready`, { timeoutMs: 15_000 });
});

afterAll(async () => {
  await bff?.stop();
  await delivery?.close();
  await stubs?.stop();
  await space.cleanup();
});

type Answer = { what: string; status: number; body: any; ms: number; retryAfter: string | null };

async function request(what: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  // The test's own bound, far above any designed answer: a hung BFF fails the test instead of the run.
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

const couriersList = () => request("GET /admin/couriers", "/admin/couriers", { headers: admin });
const markDone = (orderId: number) =>
  request("POST done", `/courier/deliveries/${orderId}/done`, { method: "POST", headers: { ...courier, "x-request-id": `done-${++requestSeq}` } });

const answers = (m: FaultMode) => m.kind === "pass" || m.kind === "slow";
const hangs = (m: FaultMode) => m.kind === "blackhole" || m.kind === "stall";
/** What a forwarded call may be answered with (503 once the breaker opens); a wrong shape is passed on as it is. */
const statusesFor = (m: FaultMode): number[] => (answers(m) || m.kind === "wrong_shape" ? [200] : hangs(m) ? [504, 503] : [502, 503]);

/** Delivery passing again and its breaker closed: probes until /health/upstreams says so. */
async function settle() {
  await delivery.setMode({ kind: "pass" });
  const until = Date.now() + 5000;
  for (;;) {
    const { upstreams } = (await (await fetch(`${url}/health/upstreams`)).json()) as { upstreams: { name: string; state: string }[] };
    if (upstreams.find((u) => u.name === "delivery")?.state === "closed") return;
    if (Date.now() > until) throw new Error(`the delivery breaker did not close: ${JSON.stringify(upstreams)}`);
    await Bun.sleep(60);
    await couriersList();
  }
}

describe("the delivery routes, on real sockets", () => {
  test("go to DELIVERY_URL with the caller's token, and its answers come back", async () => {
    await settle();
    delivery.resetCounts();
    const list = await couriersList();
    expect({ status: list.status, body: list.body }).toEqual({ status: 200, body: stubs.couriers });
    const done = await markDone(41);
    expect({ status: done.status, order: done.body.order_id, delivery: done.body.status }).toEqual({ status: 200, order: 41, delivery: "done" });
    // The stand-in answers 401 to a call without a Bearer token, so these 200s show the token was passed on.
    expect(delivery.requests).toBe(2);
  });

  test("a customer is refused at the BFF: delivery is not called", async () => {
    await settle();
    delivery.resetCounts();
    const res = await request("customer", "/admin/couriers", { headers: customer });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    expect(delivery.requests).toBe(0);
  });

  for (const mode of EVERY_FAULT) {
    test(`delivery ${describeFaultMode(mode)}: designed statuses within the deadline, no write twice, the process up`, async () => {
      await settle();
      await delivery.setMode(mode);
      const writesBefore = stubs.writesSeen();
      const results = await Promise.all([couriersList(), couriersList(), couriersList(), markDone(41), markDone(42)]);

      const broken: string[] = [];
      const check = (ok: boolean, what: () => string) => void (ok || broken.push(what()));
      const allowed = statusesFor(mode);
      for (const r of results) {
        check(allowed.includes(r.status), () => `${r.what}: ${r.status} ${JSON.stringify(r.body)}, expected one of ${allowed}`);
        check(r.ms <= WRITE_DEADLINE_MS + MARGIN_MS, () => `${r.what}: answered in ${Math.round(r.ms)} ms`);
        if (r.status >= 500) {
          const error = r.body?.error;
          check(error?.code === ERROR_CODE[r.status] && typeof error?.message === "string", () => `${r.what}: ${r.status} not in the envelope: ${JSON.stringify(r.body)}`);
          if (r.status === 503) check(Number(r.retryAfter) >= 1, () => `${r.what}: 503 without Retry-After`);
        }
      }
      // Each write reached delivery at most once (never retried), and exactly once when it answered.
      const writes = stubs.writesSince(writesBefore);
      for (const [id, count] of writes) check(count === 1, () => `write ${id} reached delivery ${count} times`);
      if (answers(mode)) check(writes.size === 2, () => `${writes.size} of 2 writes reached delivery`);
      // Orders has its own breaker: a customer's orders are served whatever delivery does.
      const orders = await request("GET /orders", "/orders", { headers: customer });
      check(orders.status === 200, () => `GET /orders: ${orders.status} while delivery is ${describeFaultMode(mode)}`);
      check(bff.proc.exitCode === null, () => `the BFF exited (${bff.proc.exitCode})`);
      expect(broken).toEqual([]);
    });
  }

  test("afterwards: still one process, nothing unhandled logged, and the routes answer again", async () => {
    await settle();
    expect(bff.proc.exitCode).toBeNull();
    expect(bff.output.filter((line) => /unhandled|uncaught/i.test(line))).toEqual([]);
    expect((await couriersList()).status).toBe(200);
  });
});
