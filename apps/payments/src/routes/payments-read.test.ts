// GET /payments?order_id= and GET /payments/:id: every payment in every state, a `processing` one included
// (the orders service resolves a charge that timed out on its side by asking for its order's payments).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { answerOf, buildApp, createGate, createTestbed, nextOrderId, postCharge, until, type Testbed } from "../testing/payments-app.ts";

let bed: Testbed;
beforeAll(async () => {
  bed = await createTestbed("payments_read");
}, 60_000);
afterAll(() => bed?.db.drop());

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("GET /payments?order_id=", () => {
  test("an order without payments: 200 []", async () => {
    const { app } = buildApp(bed);
    expect(await answerOf(await app.request(`/payments?order_id=${nextOrderId()}`, { headers: bed.asService }))).toMatchObject({ status: 200, body: [] });
  });

  test("all of the order's payments, oldest first, in the documented shape; no other order's", async () => {
    const { app } = buildApp(bed);
    const order_id = nextOrderId();
    const declined = await answerOf(await postCharge(app, bed, `read-${randomUUID()}`, { order_id, amount_cents: 300, card_token: "tok_decline" }));
    const paid = await answerOf(await postCharge(app, bed, `read-${randomUUID()}`, { order_id, amount_cents: 300, card_token: "tok_visa" }));
    await postCharge(app, bed, `read-${randomUUID()}`, { order_id: nextOrderId(), amount_cents: 300, card_token: "tok_visa" });

    const res = await answerOf(await app.request(`/payments?order_id=${order_id}`, { headers: bed.asService }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        payment_id: declined.body.error.payment_id,
        order_id,
        amount_cents: 300,
        status: "declined",
        decline_reason: "card_declined",
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
      },
      {
        payment_id: paid.body.payment_id,
        order_id,
        amount_cents: 300,
        status: "succeeded",
        decline_reason: null,
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
      },
    ]);
  });

  test("a charge in progress shows as processing, then as succeeded", async () => {
    const gate = createGate();
    const { app } = buildApp(bed, { sleep: gate.sleep });
    const order_id = nextOrderId();
    const charging = postCharge(app, bed, `read-${randomUUID()}`, { order_id, amount_cents: 300, card_token: "tok_slow" });
    await until("the charge reaches the provider", () => gate.waiting() === 1);
    const statuses = async () => ((await (await app.request(`/payments?order_id=${order_id}`, { headers: bed.asService })).json()) as any[]).map((p) => p.status);
    expect(await statuses()).toEqual(["processing"]);
    gate.open();
    await charging;
    expect(await statuses()).toEqual(["succeeded"]);
  });
});

describe("GET /payments/:id", () => {
  test("one payment in the same shape as the list", async () => {
    const { app } = buildApp(bed);
    const order_id = nextOrderId();
    await postCharge(app, bed, `read-${randomUUID()}`, { order_id, amount_cents: 300, card_token: "tok_visa" });
    const [listed] = (await (await app.request(`/payments?order_id=${order_id}`, { headers: bed.asService })).json()) as any[];
    expect(await answerOf(await app.request(`/payments/${listed.payment_id}`, { headers: bed.asService }))).toMatchObject({ status: 200, body: listed });
    // Upper-case hex names the same payment.
    expect((await answerOf(await app.request(`/payments/${listed.payment_id.toUpperCase()}`, { headers: bed.asService }))).body).toEqual(listed);
  });

  test("an unknown payment: 404 NOT_FOUND", async () => {
    const { app } = buildApp(bed);
    expect(await answerOf(await app.request(`/payments/${randomUUID()}`, { headers: bed.asService }))).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
  });
});
