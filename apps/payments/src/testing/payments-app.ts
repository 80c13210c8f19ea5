// Unit-test helpers for the payments app: a migrated test database, tokens, the app with the simulated
// provider on injected timing, a gate that holds tok_slow's wait until the test opens it, and a provider
// wrapper that counts the calls reaching the provider.
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp, type PaymentsDeps } from "../app.ts";
import { createSimulatedProvider, type PaymentProvider, type Sleep } from "../provider.ts";

export const MIGRATIONS = fileURLToPath(new URL("../db/migrations", import.meta.url));

export type Testbed = { db: TestDatabase; issuer: TestIssuer; asService: Record<string, string> };

/** Call in beforeAll, with the 60 s hook timeout (the embedded fallback's first start is slow). */
export async function createTestbed(prefix: string): Promise<Testbed> {
  const db = await createTestDatabase(prefix);
  await migrate(db.sql, MIGRATIONS);
  const issuer = await createTestIssuer();
  return { db, issuer, asService: await issuer.auth("orders", "service") };
}

/** A sleep that returns at once: tok_slow is not slow unless a test says so. */
export const noSleep: Sleep = async () => {};

/** A sleep that waits until open() (or its signal aborts): holds tok_slow's charge mid-way for as long as the test needs. */
export function createGate() {
  const waiters = new Set<() => void>();
  let opened = false;
  const sleep: Sleep = (_ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (opened) return resolve();
      if (signal?.aborted) return reject(signal.reason);
      const wake = () => {
        waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        waiters.delete(wake);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.add(wake);
    });
  return {
    sleep,
    waiting: () => waiters.size,
    open() {
      opened = true;
      for (const wake of [...waiters]) wake();
    },
  };
}

/** Polls `check` (sync or async) until it holds; throws after `timeoutMs`. A bounded wait, never a fixed sleep. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}

export type CountingProvider = PaymentProvider & { charges: number; refunds: number };

/** Counts the charge and refund calls that reached `inner`. */
export function countingProvider(inner: PaymentProvider): CountingProvider {
  const counting: CountingProvider = {
    charges: 0,
    refunds: 0,
    charge(input, signal) {
      counting.charges++;
      return inner.charge(input, signal);
    },
    refund(paymentId) {
      counting.refunds++;
      return inner.refund(paymentId);
    },
  };
  return counting;
}

/** The app on the testbed's database with a counted simulated provider; `random` and `sleep` drive the test cards. */
export function buildApp(bed: Testbed, options: { random?: () => number; sleep?: Sleep } & Partial<Omit<PaymentsDeps, "sql" | "verifier">> = {}) {
  const { random, sleep = noSleep, ...deps } = options;
  const provider = countingProvider(deps.provider ?? createSimulatedProvider({ sql: bed.db.sql, random, sleep }));
  const app = createApp({ sql: bed.db.sql, verifier: bed.issuer.verifier, ...deps, provider });
  return { app, provider };
}

export type App = ReturnType<typeof buildApp>["app"];

let lastOrder = 1000;
/** An order id no other test in the process used: tests share a database but never an order. */
export const nextOrderId = () => ++lastOrder;

export type ChargeBody = { order_id: number; amount_cents: number; card_token: string };

/** POST /payments as the orders service. */
export const postCharge = async (app: App, bed: Testbed, key: string, body: ChargeBody | string, init: RequestInit = {}): Promise<Response> =>
  app.request("/payments", {
    method: "POST",
    ...init,
    headers: { ...bed.asService, "content-type": "application/json", "idempotency-key": key, ...(init.headers as Record<string, string>) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** Status, the replay header and the parsed body of an answer. */
export async function answerOf(res: Response) {
  return { status: res.status, replayed: res.headers.get("idempotent-replayed"), retryAfter: res.headers.get("retry-after"), body: (await res.json()) as any };
}

/** The rows a test looks at, straight from the database. */
export const paymentsOf = async (bed: Testbed, orderId: number) => [
  ...(await bed.db.sql<{ id: string; status: string; attempt: number; processing_until: Date | null }[]>`
    select id, status, attempt, processing_until from payments where order_id = ${orderId} order by created_at`),
];

export const providerChargesOf = async (bed: Testbed, paymentId: string) => [
  ...(await bed.db.sql<{ payment_id: string; outcome: string; provider_ref: string; refunded_at: Date | null }[]>`
    select payment_id, outcome, provider_ref, refunded_at from provider_charges where payment_id = ${paymentId}`),
];
