// POST /payments: one charge per Idempotency-Key, whatever arrives twice, at once, after a transient failure or
// after a crash; one live charge per order. Bad input is payments-input.test.ts, who may call payments-auth.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { requestHash } from "../charges.ts";
import { createSimulatedProvider, ProviderTransientError, type PaymentProvider } from "../provider.ts";
import {
  answerOf,
  buildApp,
  createGate,
  createTestbed,
  nextOrderId,
  paymentsOf,
  postCharge,
  providerChargesOf,
  until,
  type Testbed,
} from "../testing/payments-app.ts";

let bed: Testbed;
beforeAll(async () => {
  bed = await createTestbed("payments_charges");
}, 60_000);
afterAll(() => bed?.db.drop());

const newKey = () => `test-${randomUUID()}`;

describe("a charge", () => {
  test("tok_visa: 201 with the payment, stored succeeded, one provider charge, not marked replayed", async () => {
    const { app, provider } = buildApp(bed);
    const order_id = nextOrderId();
    const res = await answerOf(await postCharge(app, bed, newKey(), { order_id, amount_cents: 2599, card_token: "tok_visa" }));
    expect(res).toEqual({
      status: 201,
      replayed: null,
      retryAfter: null,
      body: { payment_id: expect.stringMatching(/^[0-9a-f-]{36}$/), order_id, amount_cents: 2599, status: "succeeded" },
    });
    expect(await paymentsOf(bed, order_id)).toEqual([{ id: res.body.payment_id, status: "succeeded", attempt: 1, processing_until: null }]);
    expect(await providerChargesOf(bed, res.body.payment_id)).toEqual([expect.objectContaining({ outcome: "succeeded" })]);
    expect(provider.charges).toBe(1);
  });

  test("the same key and body again: the same 201 and body with Idempotent-Replayed, and no second provider charge", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" };
    const first = await answerOf(await postCharge(app, bed, key, body));
    for (let i = 0; i < 3; i++) {
      expect(await answerOf(await postCharge(app, bed, key, body))).toEqual({ ...first, replayed: "true" });
    }
    expect(provider.charges).toBe(1);
    expect(await providerChargesOf(bed, first.body.payment_id)).toHaveLength(1);
  });

  test("tok_decline: 402 PAYMENT_DECLINED naming the payment and reason; the row stays declined and replays forever", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_decline" };
    const first = await answerOf(await postCharge(app, bed, key, body));
    expect(first).toEqual({
      status: 402,
      replayed: null,
      retryAfter: null,
      body: { error: { code: "PAYMENT_DECLINED", message: expect.any(String), payment_id: expect.any(String), decline_reason: "card_declined" } },
    });
    expect(await answerOf(await postCharge(app, bed, key, body))).toEqual({ ...first, replayed: "true" });
    expect(await paymentsOf(bed, body.order_id)).toEqual([expect.objectContaining({ id: first.body.error.payment_id, status: "declined" })]);
    expect(provider.charges).toBe(1);
  });

  test("an unknown card token is declined with unknown_test_card", async () => {
    const { app } = buildApp(bed);
    const res = await answerOf(await postCharge(app, bed, newKey(), { order_id: nextOrderId(), amount_cents: 100, card_token: "4242 4242 4242 4242" }));
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: "PAYMENT_DECLINED", decline_reason: "unknown_test_card" });
  });

  test("the same key with another body: 422 IDEMPOTENCY_KEY_REUSED, nothing charged or changed", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" };
    const first = await answerOf(await postCharge(app, bed, key, body));
    const before = await paymentsOf(bed, body.order_id);
    for (const other of [
      { ...body, amount_cents: 101 },
      { ...body, card_token: "tok_decline" },
      { ...body, order_id: nextOrderId() },
    ]) {
      const res = await answerOf(await postCharge(app, bed, key, other));
      expect(res.status, JSON.stringify(other)).toBe(422);
      expect(res.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
    expect(await paymentsOf(bed, body.order_id)).toEqual(before);
    expect(provider.charges).toBe(1);
    // The key still answers its own request.
    expect((await answerOf(await postCharge(app, bed, key, body))).body).toEqual(first.body);
  });

  test("the body's key order and spacing do not matter: the same request replays", async () => {
    const { app } = buildApp(bed);
    const key = newKey();
    const order_id = nextOrderId();
    const first = await answerOf(await postCharge(app, bed, key, { order_id, amount_cents: 700, card_token: "tok_visa" }));
    const reordered = await answerOf(await postCharge(app, bed, key, `{ "card_token": "tok_visa", "amount_cents": 700, "order_id": ${order_id} }`));
    expect(reordered).toEqual({ ...first, replayed: "true" });
  });
});

describe("20 concurrent requests with one key (duplicates do not wait: 409 while the charge runs)", () => {
  test("one provider charge; the holder gets 201, the others 409 PAYMENT_IN_PROGRESS with Retry-After: 1; afterwards all replay the same 201", async () => {
    const gate = createGate();
    const { app, provider } = buildApp(bed, { sleep: gate.sleep });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 4200, card_token: "tok_slow" };
    const answered: Awaited<ReturnType<typeof answerOf>>[] = [];
    const pending = Array.from({ length: 20 }, () =>
      postCharge(app, bed, key, body)
        .then(answerOf)
        .then((a) => (answered.push(a), a)),
    );
    // The holder waits inside the provider; every other request answers without waiting for it.
    await until("19 answers while the charge runs", () => answered.length === 19 && gate.waiting() === 1);
    const refused = [...answered];
    for (const res of refused) {
      expect(res).toEqual({
        status: 409,
        replayed: null,
        retryAfter: "1",
        body: { error: { code: "PAYMENT_IN_PROGRESS", message: expect.any(String), payment_id: expect.any(String) } },
      });
    }

    gate.open();
    const answers = await Promise.all(pending);
    const decided = answers.filter((a) => a.status === 201);
    expect(decided).toHaveLength(1);
    expect(decided[0]!.replayed).toBeNull();
    expect(refused[0]!.body.error.payment_id).toBe(decided[0]!.body.payment_id);

    const again = await Promise.all(Array.from({ length: 20 }, () => postCharge(app, bed, key, body).then(answerOf)));
    for (const res of again) expect(res).toEqual({ ...decided[0]!, replayed: "true" });
    expect(provider.charges).toBe(1);
    expect(await providerChargesOf(bed, decided[0]!.body.payment_id)).toHaveLength(1);
    expect(await paymentsOf(bed, body.order_id)).toHaveLength(1);
  });

  test("without a slow card: every answer is the same 201 or a 409, and there is one provider charge", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 4200, card_token: "tok_visa" };
    const answers = await Promise.all(Array.from({ length: 20 }, () => postCharge(app, bed, key, body).then(answerOf)));
    const decided = answers.filter((a) => a.status === 201);
    expect(decided.length).toBeGreaterThanOrEqual(1);
    for (const a of decided) expect(a.body).toEqual(decided[0]!.body);
    for (const a of answers.filter((a) => a.status !== 201)) expect(a.body.error.code).toBe("PAYMENT_IN_PROGRESS");
    expect(decided.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(provider.charges).toBe(1);
  });
});

describe("a transient provider failure charged nothing", () => {
  test("tok_flaky failing: 502 UPSTREAM_ERROR, no row kept; the same key later succeeds with one charge", async () => {
    const draws = [0.1, 0.9]; // fail, then succeed
    const { app, provider } = buildApp(bed, { random: () => draws.shift()! });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 1500, card_token: "tok_flaky" };
    const failed = await answerOf(await postCharge(app, bed, key, body));
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe("UPSTREAM_ERROR");
    expect(await paymentsOf(bed, body.order_id)).toEqual([]);

    const retried = await answerOf(await postCharge(app, bed, key, body));
    expect(retried).toMatchObject({ status: 201, replayed: null, body: { status: "succeeded" } });
    expect(await providerChargesOf(bed, retried.body.payment_id)).toHaveLength(1);
    expect(await paymentsOf(bed, body.order_id)).toHaveLength(1);
    expect(provider.charges).toBe(2);
  });

  test("the provider not answering in time: 502, nothing charged, and the key is free again", async () => {
    const gate = createGate(); // never opened: tok_slow waits until the provider timeout fires
    const { app } = buildApp(bed, { sleep: gate.sleep, providerTimeoutMs: 50 });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 1500, card_token: "tok_slow" };
    const failed = await answerOf(await postCharge(app, bed, key, body));
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe("UPSTREAM_ERROR");
    expect(await paymentsOf(bed, body.order_id)).toEqual([]);
    expect((await bed.db.sql`select count(*)::int as n from provider_charges where amount_cents = 1500 and card_token = 'tok_slow'`)[0]!.n).toBe(0);

    const fast = buildApp(bed); // tok_slow no longer slow
    expect((await postCharge(fast.app, bed, key, body)).status).toBe(201);
  });

  test("an error that is not transient (the provider's database gone) keeps the row processing for a later takeover", async () => {
    const broken: PaymentProvider = {
      charge: async () => {
        throw new Error("connection terminated");
      },
      refund: async () => ({ refundedAt: new Date() }),
    };
    const { app } = buildApp(bed, { provider: broken });
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" };
    const res = await answerOf(await postCharge(app, bed, newKey(), body));
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("INTERNAL");
    expect(await paymentsOf(bed, body.order_id)).toEqual([expect.objectContaining({ status: "processing" })]);
  });
});

describe("the lease on a processing charge", () => {
  /** A row as a process that died while asking the provider leaves it. */
  async function insertProcessing(body: { order_id: number; amount_cents: number; card_token: string }, key: string, leaseFromNowMs: number) {
    const id = randomUUID();
    const hash = requestHash({ key, orderId: body.order_id, amountCents: body.amount_cents, cardToken: body.card_token });
    await bed.db.sql`
      insert into payments (id, idempotency_key, request_hash, order_id, amount_cents, card_last, status, processing_until)
      values (${id}, ${key}, ${hash}, ${body.order_id}, ${body.amount_cents}, ${body.card_token}, 'processing',
              now() + ${leaseFromNowMs}::integer * interval '1 millisecond')`;
    return id;
  }

  test("still held: 409 PAYMENT_IN_PROGRESS with Retry-After: 1, the provider not asked", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_visa" };
    const id = await insertProcessing(body, key, 60_000);
    const res = await answerOf(await postCharge(app, bed, key, body));
    expect(res).toMatchObject({ status: 409, retryAfter: "1", body: { error: { code: "PAYMENT_IN_PROGRESS", payment_id: id } } });
    expect(provider.charges).toBe(0);
  });

  test("run out after a crash: the same key takes the charge over, asks again for the same payment id, one charge", async () => {
    const { app, provider } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_visa" };
    const id = await insertProcessing(body, key, -1000);
    const res = await answerOf(await postCharge(app, bed, key, body));
    expect(res).toEqual({ status: 201, replayed: null, retryAfter: null, body: { payment_id: id, order_id: body.order_id, amount_cents: 300, status: "succeeded" } });
    expect(await paymentsOf(bed, body.order_id)).toEqual([{ id, status: "succeeded", attempt: 2, processing_until: null }]);
    expect(await providerChargesOf(bed, id)).toHaveLength(1);
    expect(provider.charges).toBe(1);
  });

  test("run out after a crash that happened after the provider charged: the first charge's result, not a second charge", async () => {
    const { app } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_visa" };
    const id = await insertProcessing(body, key, -1000);
    // The dead process got this far: the provider charged, the answer never reached the payments row.
    const earlier = await createSimulatedProvider({ sql: bed.db.sql }).charge({ paymentId: id, amountCents: 300, cardToken: "tok_visa" }, new AbortController().signal);
    const res = await answerOf(await postCharge(app, bed, key, body));
    expect(res.body).toMatchObject({ payment_id: id, status: "succeeded" });
    const ledger = await providerChargesOf(bed, id);
    expect(ledger).toEqual([expect.objectContaining({ provider_ref: earlier.providerRef })]);
    const [row] = await bed.db.sql`select provider_ref from payments where id = ${id}`;
    expect(row!.provider_ref).toBe(earlier.providerRef);
  });

  test("a takeover that fails transiently keeps the row and ends its lease: the next request takes over at once", async () => {
    const draws = [0.1, 0.9];
    const { app, provider } = buildApp(bed, { random: () => draws.shift()! });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_flaky" };
    const id = await insertProcessing(body, key, -1000);
    expect((await postCharge(app, bed, key, body)).status).toBe(502);
    const [kept] = await paymentsOf(bed, body.order_id);
    expect(kept).toMatchObject({ id, status: "processing", attempt: 2 });
    expect(kept!.processing_until!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    const res = await answerOf(await postCharge(app, bed, key, body));
    expect(res).toMatchObject({ status: 201, body: { payment_id: id } });
    expect(await paymentsOf(bed, body.order_id)).toEqual([{ id, status: "succeeded", attempt: 3, processing_until: null }]);
    expect(provider.charges).toBe(2);
    expect(await providerChargesOf(bed, id)).toHaveLength(1);
  });

  test("the first holder's late transient failure does not drop a row someone took over", async () => {
    // Holder 1 waits in the provider past its (tiny) lease; holder 2 takes over and charges; holder 1 then fails.
    const gate = createGate();
    const failing: PaymentProvider = {
      async charge(input, signal) {
        await gate.sleep(0, signal);
        throw new ProviderTransientError("late failure", "unavailable");
      },
      refund: async () => ({ refundedAt: new Date() }),
    };
    const first = buildApp(bed, { provider: failing, leaseMs: 1 });
    const second = buildApp(bed, { leaseMs: 60_000 });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_visa" };
    const late = postCharge(first.app, bed, key, body).then(answerOf);
    await until("holder 1 waits in the provider", () => gate.waiting() === 1);
    await until("holder 1's lease runs out", async () => (await bed.db.sql`select 1 from payments where idempotency_key = ${key} and processing_until <= now()`).length === 1);
    const taken = await answerOf(await postCharge(second.app, bed, key, body));
    expect(taken.status).toBe(201);
    gate.open();
    expect((await late).status).toBe(502);
    expect(await paymentsOf(bed, body.order_id)).toEqual([expect.objectContaining({ id: taken.body.payment_id, status: "succeeded" })]);
  });
});

describe("one live charge per order", () => {
  test("another key for an order with a succeeded payment: 409 CONFLICT naming it, nothing charged", async () => {
    const { app, provider } = buildApp(bed);
    const order_id = nextOrderId();
    const paid = await answerOf(await postCharge(app, bed, `order-${order_id}-charge`, { order_id, amount_cents: 100, card_token: "tok_visa" }));
    const res = await answerOf(await postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_visa" }));
    expect(res).toMatchObject({ status: 409, body: { error: { code: "CONFLICT", payment_id: paid.body.payment_id, status: "succeeded" } } });
    expect(provider.charges).toBe(1);
    expect(await paymentsOf(bed, order_id)).toHaveLength(1);
  });

  test("another key while the order's charge is processing: 409 CONFLICT naming the processing payment", async () => {
    const gate = createGate();
    const { app } = buildApp(bed, { sleep: gate.sleep });
    const order_id = nextOrderId();
    const running = postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_slow" }).then(answerOf);
    await until("the first charge reaches the provider", () => gate.waiting() === 1);
    const res = await answerOf(await postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_visa" }));
    expect(res).toMatchObject({ status: 409, body: { error: { code: "CONFLICT", status: "processing" } } });
    gate.open();
    expect((await running).body.payment_id).toBe(res.body.error.payment_id);
  });

  test("after a decline, or a refund, the order may be charged under a new key", async () => {
    const { app } = buildApp(bed);
    const order_id = nextOrderId();
    expect((await postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_decline" })).status).toBe(402);
    const paid = await answerOf(await postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_visa" }));
    expect(paid.status).toBe(201);
    expect((await app.request(`/payments/${paid.body.payment_id}/refund`, { method: "POST", headers: bed.asService })).status).toBe(200);
    expect((await postCharge(app, bed, newKey(), { order_id, amount_cents: 100, card_token: "tok_visa" })).status).toBe(201);
    expect((await paymentsOf(bed, order_id)).map((p) => p.status)).toEqual(["declined", "refunded", "succeeded"]);
  });

  test("a refunded charge's key still replays its 201: the answer to the charge, not the payment's state now", async () => {
    const { app } = buildApp(bed);
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" };
    const first = await answerOf(await postCharge(app, bed, key, body));
    await app.request(`/payments/${first.body.payment_id}/refund`, { method: "POST", headers: bed.asService });
    expect(await answerOf(await postCharge(app, bed, key, body))).toEqual({ ...first, replayed: "true" });
  });
});

describe("the caller giving up", () => {
  test("an aborted request's charge still completes and is stored", async () => {
    const gate = createGate();
    const { app } = buildApp(bed, { sleep: gate.sleep });
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_slow" };
    const caller = new AbortController();
    const answer = Promise.resolve(postCharge(app, bed, newKey(), body, { signal: caller.signal })).catch((err) => err);
    await until("the charge reaches the provider", () => gate.waiting() === 1);
    caller.abort();
    gate.open();
    await answer;
    await until("the charge is stored", async () => (await paymentsOf(bed, body.order_id))[0]?.status === "succeeded");
  });

  test("the caller's x-deadline-ms running out: 504 to the caller, the charge still completes, and the key replays it", async () => {
    const gate = createGate();
    const { app, provider } = buildApp(bed, { sleep: gate.sleep });
    const key = newKey();
    const body = { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_slow" };
    const res = await postCharge(app, bed, key, body, { headers: { "x-deadline-ms": "20" } });
    expect(res.status).toBe(504);
    await until("the charge reaches the provider", () => gate.waiting() === 1);
    expect(await paymentsOf(bed, body.order_id)).toEqual([expect.objectContaining({ status: "processing" })]);
    gate.open();
    await until("the charge is stored", async () => (await paymentsOf(bed, body.order_id))[0]?.status === "succeeded");
    expect(await answerOf(await postCharge(app, bed, key, body))).toMatchObject({ status: 201, replayed: "true" });
    expect(provider.charges).toBe(1);
  });
});

describe("metrics", () => {
  test("payments_charges_total counts the provider's answers by outcome", async () => {
    const draws = [0.1];
    const { app } = buildApp(bed, { random: () => draws.shift() ?? 0.9 });
    await postCharge(app, bed, newKey(), { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" });
    await postCharge(app, bed, newKey(), { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_decline" });
    await postCharge(app, bed, newKey(), { order_id: nextOrderId(), amount_cents: 100, card_token: "tok_flaky" });
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('payments_charges_total{outcome="succeeded"} 1');
    expect(text).toContain('payments_charges_total{outcome="declined"} 1');
    expect(text).toContain('payments_charges_total{outcome="provider_error"} 1');
  });
});
