// POST /payments/:id/refund: succeeded -> refunded once, whatever arrives twice or at once; declined and
// processing payments are refused; the provider's refund is recorded once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createSimulatedProvider } from "../provider.ts";
import { answerOf, buildApp, createGate, createTestbed, nextOrderId, postCharge, providerChargesOf, until, type App, type Testbed } from "../testing/payments-app.ts";

let bed: Testbed;
beforeAll(async () => {
  bed = await createTestbed("payments_refunds");
}, 60_000);
afterAll(() => bed?.db.drop());

async function chargeWith(app: App, card_token: string) {
  const res = await answerOf(await postCharge(app, bed, `refund-${randomUUID()}`, { order_id: nextOrderId(), amount_cents: 5000, card_token }));
  return (res.body.payment_id ?? res.body.error.payment_id) as string;
}

const refund = async (app: App, paymentId: string, init: RequestInit = {}) =>
  answerOf(await app.request(`/payments/${paymentId}/refund`, { method: "POST", ...init, headers: { ...bed.asService, ...init.headers } }));

describe("refunding a succeeded payment", () => {
  test("200 refunded with the time; the payment and the provider's ledger both say refunded, at the same time", async () => {
    const { app, provider } = buildApp(bed);
    const id = await chargeWith(app, "tok_visa");
    const res = await refund(app, id);
    expect(res).toEqual({ status: 200, replayed: null, retryAfter: null, body: { payment_id: id, status: "refunded", refunded_at: expect.any(String) } });
    const [ledger] = await providerChargesOf(bed, id);
    expect(ledger!.refunded_at!.toISOString()).toBe(res.body.refunded_at);
    expect((await (await app.request(`/payments/${id}`, { headers: bed.asService })).json()) as any).toMatchObject({ status: "refunded" });
    expect(provider.refunds).toBe(1);
  });

  test("twice: the same 200 and body, one provider refund", async () => {
    const { app, provider } = buildApp(bed);
    const id = await chargeWith(app, "tok_visa");
    const first = await refund(app, id);
    expect(await refund(app, id)).toEqual(first);
    expect(provider.refunds).toBe(1);
  });

  test("five at once: all the same answer, refunded once in the ledger", async () => {
    const { app } = buildApp(bed);
    const id = await chargeWith(app, "tok_visa");
    const answers = await Promise.all(Array.from({ length: 5 }, () => refund(app, id)));
    for (const a of answers) expect(a).toEqual(answers[0]!);
    expect(answers[0]!.status).toBe(200);
    expect(await providerChargesOf(bed, id)).toHaveLength(1);
  });

  test("no body, {}, or {} without a content type: all accepted", async () => {
    const { app } = buildApp(bed);
    for (const init of [{}, { body: "{}", headers: { "content-type": "application/json" } }, { body: " {} " }] as RequestInit[]) {
      const id = await chargeWith(app, "tok_visa");
      expect((await refund(app, id, init)).status, JSON.stringify(init)).toBe(200);
    }
  });

  test("the provider refunded but the process died before storing it: asking again finishes with the provider's time", async () => {
    const { app } = buildApp(bed);
    const id = await chargeWith(app, "tok_visa");
    const { refundedAt } = await createSimulatedProvider({ sql: bed.db.sql }).refund(id);
    const res = await refund(app, id);
    expect(res).toMatchObject({ status: 200, body: { status: "refunded", refunded_at: refundedAt.toISOString() } });
  });
});

describe("what cannot be refunded", () => {
  test("a declined payment: 409 NOT_REFUNDABLE, no provider refund", async () => {
    const { app, provider } = buildApp(bed);
    const id = await chargeWith(app, "tok_decline");
    const res = await refund(app, id);
    expect(res).toMatchObject({ status: 409, body: { error: { code: "NOT_REFUNDABLE", payment_id: id } } });
    expect(provider.refunds).toBe(0);
  });

  test("a payment still being charged: 409 PAYMENT_IN_PROGRESS with Retry-After: 1; refundable once it succeeded", async () => {
    const gate = createGate();
    const { app } = buildApp(bed, { sleep: gate.sleep });
    const order_id = nextOrderId();
    const charging = postCharge(app, bed, `refund-${randomUUID()}`, { order_id, amount_cents: 100, card_token: "tok_slow" }).then(answerOf);
    await until("the charge reaches the provider", () => gate.waiting() === 1);
    const [row] = await bed.db.sql<{ id: string }[]>`select id from payments where order_id = ${order_id}`;
    expect(await refund(app, row!.id)).toMatchObject({ status: 409, retryAfter: "1", body: { error: { code: "PAYMENT_IN_PROGRESS" } } });
    gate.open();
    expect((await charging).status).toBe(201);
    expect((await refund(app, row!.id)).status).toBe(200);
  });

  test("an unknown payment: 404 NOT_FOUND", async () => {
    const { app } = buildApp(bed);
    expect(await refund(app, randomUUID())).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
  });
});
