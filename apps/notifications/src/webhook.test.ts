import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { UnrecoverableError } from "bullmq";
import { CircuitOpenError } from "@storefront/shared/circuit-breaker";
import { migrate } from "@storefront/shared/db/migrate";
import { DeadlineExceededError } from "@storefront/shared/deadline";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { startWebhookReceiver, type WebhookReceiver } from "./testing/webhook-receiver.ts";
import { newEvent, startHarness, type Harness } from "./testing/worker-harness.ts";
import { UpstreamStatusError } from "@storefront/shared/upstream/errors";
import { createWebhookSender, signBody, WebhookRejectedError, type WebhookMessage } from "./webhook.ts";

const SECRET = "test-secret-\u00e9";
const message: WebhookMessage = {
  event_id: "evt-1",
  type: "price.dropped",
  user_id: 3,
  title: "Price drop: Kettle now 39.00",
  body: "Kettle, on your favorites, went from 45.00 to 39.00.",
  payload: { product_id: 5, product_name: "Kettle", old_price_cents: 4500, new_price_cents: 3900 },
};

let receivers: WebhookReceiver[] = [];
const receiver = (answer?: (n: number) => number) => {
  const r = startWebhookReceiver(SECRET, answer);
  receivers.push(r);
  return r;
};
afterEach(async () => {
  for (const r of receivers) await r.stop();
  receivers = [];
});

describe("the webhook sender", () => {
  test("POSTs the JSON with the event-id header and an HMAC-SHA256 of the exact raw body", async () => {
    const r = receiver();
    await createWebhookSender({ url: r.url, secret: SECRET, deadlineMs: 2000 }).send(message);
    expect(r.deliveries).toEqual([{ status: 200, signatureValid: true, eventIdHeader: "evt-1", contentType: "application/json", body: message }]);
    expect(signBody("k", '{"a":1}')).toBe("sha256=" + new Bun.CryptoHasher("sha256", "k").update('{"a":1}').digest("hex"));
  });

  test("signed with another secret, the receiver refuses it (401): WebhookRejectedError, unrecoverable", async () => {
    const r = receiver();
    const error = await createWebhookSender({ url: r.url, secret: "wrong", deadlineMs: 2000 }).send(message).catch((e) => e);
    expect(r.deliveries[0]!.signatureValid).toBe(false);
    expect(error).toBeInstanceOf(WebhookRejectedError);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.status).toBe(401);
  });

  test.each([400, 404, 410, 422])("%i is a refusal for good", async (status) => {
    const r = receiver(() => status);
    const error = await createWebhookSender({ url: r.url, secret: SECRET, deadlineMs: 2000 }).send(message).catch((e) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
  });

  test.each([500, 502, 503, 408, 429])("%i is worth another attempt (not unrecoverable)", async (status) => {
    const r = receiver(() => status);
    const error = await createWebhookSender({ url: r.url, secret: SECRET, deadlineMs: 2000 }).send(message).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect(error.status).toBe(status);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
  });

  test("a receiver that never answers: DeadlineExceededError, retryable", async () => {
    const hang = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const error = await createWebhookSender({ url: `http://127.0.0.1:${hang.port}/`, secret: SECRET, deadlineMs: 150 }).send(message).catch((e) => e);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error).not.toBeInstanceOf(UnrecoverableError);
    } finally {
      await hang.stop(true);
    }
  });

  test("nothing listening: a retryable network error", async () => {
    const r = receiver();
    const url = r.url;
    await r.stop();
    const error = await createWebhookSender({ url, secret: SECRET, deadlineMs: 2000 }).send(message).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
  });

  test("its breaker opens on repeated 5xx and then sends nothing; refusals do not open it", async () => {
    const failing = receiver(() => 503);
    const sender = createWebhookSender({ url: failing.url, secret: SECRET, deadlineMs: 2000, breaker: { minCalls: 2, failureRatio: 0.5 } });
    for (let i = 0; i < 2; i++) await sender.send(message).catch(() => {});
    expect(await sender.send(message).catch((e) => e)).toBeInstanceOf(CircuitOpenError);
    expect(failing.deliveries).toHaveLength(2);

    const refusing = receiver(() => 400);
    const other = createWebhookSender({ url: refusing.url, secret: SECRET, deadlineMs: 2000, breaker: { minCalls: 2, failureRatio: 0.5 } });
    for (let i = 0; i < 3; i++) await other.send(message).catch(() => {});
    expect(other.breaker.state).toBe("closed");
    expect(refusing.deliveries).toHaveLength(3);
  });

  test("a webhook without a secret is refused at construction", () => {
    expect(() => createWebhookSender({ url: "http://127.0.0.1:1/", secret: "", deadlineMs: 100 })).toThrow(/secret/);
  });
});

const redisUp = await requireRedis("notifications worker: webhook delivery");

describe.skipIf(!redisUp)("webhook delivery by the worker", () => {
  let db: TestDatabase;
  let h: Harness;
  beforeAll(async () => {
    db = await createTestDatabase("notifications_webhook");
    await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
  });
  afterEach(() => h?.close());
  afterAll(() => db?.drop());

  const rowsOf = async (eventId: string) => [...(await db.sql`select user_id, channel from inbox where event_id = ${eventId} order by user_id, channel`)];
  const FAST_RETRY = { backoff: { type: "fixed" as const, delay: 50 } };

  test("500, 500, then 200: delivered successfully exactly once, one inbox row", async () => {
    const r = receiver((n) => (n <= 2 ? 500 : 200));
    h = await startHarness({ sql: db.sql, webhook: createWebhookSender({ url: r.url, secret: SECRET, deadlineMs: 2000 }) });
    h.stubs.favorites.set(5, [7]);
    const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 5, inventory: 2 } });
    const job = await h.settled((await h.add(event, FAST_RETRY)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(3);
    expect(r.deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
    expect(r.accepted()).toHaveLength(1);
    expect(r.accepted()[0]!.body).toEqual({
      event_id: event.event_id,
      type: "stock.back_in_stock",
      user_id: 7,
      title: "Back in stock: product 5",
      body: "Product 5, on your favorites, is back in stock (2 available).",
      payload: { product_id: 5, inventory: 2 },
    });
    expect(await rowsOf(event.event_id)).toEqual([
      { user_id: 7, channel: "inbox" },
      { user_id: 7, channel: "webhook" },
    ]);
  });

  test("a retry re-sends only to recipients the webhook has not acknowledged", async () => {
    // Requests for user 1 succeed; user 3's first delivery fails once.
    let user3Failures = 1;
    const r = startWebhookReceiver(SECRET, () => 200);
    receivers.push(r);
    const failingOnce = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const raw = await req.text();
        const body = JSON.parse(raw);
        if (body.user_id === 3 && user3Failures-- > 0) return new Response("busy", { status: 503 });
        return fetch(r.url, { method: "POST", headers: req.headers, body: raw });
      },
    });
    try {
      h = await startHarness({ sql: db.sql, webhook: createWebhookSender({ url: `http://127.0.0.1:${failingOnce.port}/`, secret: SECRET, deadlineMs: 2000 }) });
      h.stubs.favorites.set(6, [1, 3]);
      const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 6, inventory: 1 } });
      const job = await h.settled((await h.add(event, FAST_RETRY)).id!);
      expect(job.attemptsMade).toBe(2);
      expect(r.accepted().map((d) => d.body.user_id).sort()).toEqual([1, 3]);
      expect(r.deliveries).toHaveLength(2);
      expect((await rowsOf(event.event_id)).length).toBe(4);
    } finally {
      await failingOnce.stop(true);
    }
  });

  test("a refusal (4xx) fails the job at once; the inbox rows are still there", async () => {
    const r = receiver(() => 422);
    h = await startHarness({ sql: db.sql, webhook: createWebhookSender({ url: r.url, secret: SECRET, deadlineMs: 2000 }) });
    h.stubs.favorites.set(7, [2]);
    const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 7, inventory: 1 } });
    const job = await h.settled((await h.add(event, FAST_RETRY)).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain("422");
    expect(await rowsOf(event.event_id)).toEqual([{ user_id: 2, channel: "inbox" }]);
  });
});
