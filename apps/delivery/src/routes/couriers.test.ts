// The courier routes as couriers use them: their own deliveries only, marking their own done (200, delivery.done
// written), another courier's delivery read and completed as if it did not exist (404, nothing changed), and a
// delivery not activated any more refused with 409 INVALID_TRANSITION naming its status.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { asCourier, COURIER_ONE, COURIER_TWO, deliveryFixture, type DeliveryFixture } from "../testing/delivery-fixture.ts";

let f: DeliveryFixture;
beforeAll(async () => {
  f = await deliveryFixture("delivery_couriers");
}, 60_000);
afterAll(() => f?.close());
beforeEach(() => f.resetOutbox());

const ONE = asCourier(COURIER_ONE);
const TWO = asCourier(COURIER_TWO);
const ids = (body: { deliveries: { order_id: number }[] }) => body.deliveries.map((d) => d.order_id);

describe("GET /couriers/me/deliveries", () => {
  test("only the deliveries assigned to the caller's courier, in pages, optionally by status", async () => {
    const mine = [await f.seed("assigned"), await f.seed("assigned"), await f.seed("done")];
    const unassigned = await f.seed("activated");
    const theirs = await f.seed("activated");
    await f.move(theirs, { action: "assign", courier: COURIER_TWO });

    const all = await f.call("GET", "/couriers/me/deliveries?limit=100", ONE);
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(expect.arrayContaining(mine));
    expect(ids(all.body)).not.toContain(unassigned);
    expect(ids(all.body)).not.toContain(theirs);
    expect(all.body.deliveries.every((d: { courier: { courier_id: number } }) => d.courier.courier_id === 1)).toBe(true);

    const firstPage = await f.call("GET", `/couriers/me/deliveries?limit=1&after=${mine[0]! - 1}`, ONE);
    expect(ids(firstPage.body)).toEqual([mine[0]!]);
    expect(firstPage.body.next_after).toBe(mine[0]);

    const done = await f.call("GET", `/couriers/me/deliveries?status=done&after=${mine[0]! - 1}`, ONE);
    expect(ids(done.body)).toEqual([mine[2]!]);

    expect(ids((await f.call("GET", "/couriers/me/deliveries?limit=100", TWO)).body)).toContain(theirs);
  });

  test("bad queries: 400", async () => {
    for (const q of ["status=lost", "limit=500", "after=1e3"]) expect((await f.call("GET", `/couriers/me/deliveries?${q}`, ONE)).status, q).toBe(400);
  });
});

describe("POST /couriers/me/deliveries/:order_id/done", () => {
  test("the caller's activated delivery: 200 done, history by the courier, delivery.done written, the relay woken", async () => {
    const orderId = await f.seed("assigned", 11);
    await f.resetOutbox();
    const res = await f.call("POST", `/couriers/me/deliveries/${orderId}/done`, ONE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ order_id: orderId, status: "done", courier: { courier_id: 1, name: "Courier One" }, version: 4 });
    expect(res.body.history.at(-1)).toMatchObject({ from: "activated", to: "done", by: "courier 1" });
    expect(await f.outbox()).toEqual([{ type: "delivery.done", payload: { order_id: orderId, user_id: 11, courier_id: 1 } }]);
    expect(f.wakes()).toBe(1);
  });

  test("BOLA: courier B marking courier A's delivery done is a 404 like an unknown one, and nothing changes", async () => {
    const orderId = await f.seed("assigned");
    await f.resetOutbox();
    const before = await f.row(orderId);
    const history = await f.history(orderId);
    const res = await f.call("POST", `/couriers/me/deliveries/${orderId}/done`, TWO);
    const unknown = await f.call("POST", "/couriers/me/deliveries/999999/done", TWO);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect(unknown.status).toBe(404);
    // The same words for both, so the answer does not tell courier B that the order exists.
    expect(res.body.error.message.replace(String(orderId), "N")).toBe(unknown.body.error.message.replace("999999", "N"));
    expect(await f.row(orderId)).toEqual(before);
    expect(await f.history(orderId)).toEqual(history);
    expect(await f.outbox()).toEqual([]);
    expect(f.wakes()).toBe(0);
  });

  test("a delivery without a courier yet is nobody's: 404", async () => {
    const orderId = await f.seed("activated");
    expect((await f.call("POST", `/couriers/me/deliveries/${orderId}/done`, ONE)).status).toBe(404);
    expect(await f.row(orderId)).toMatchObject({ status: "activated", courier_id: null });
  });

  test("the caller's delivery once done, or canceled after it was assigned: 409 INVALID_TRANSITION with its status, nothing written", async () => {
    const done = await f.seed("done");
    const canceled = await f.seed("assigned");
    await f.move(canceled, { action: "cancel", reason: "customer asked" });
    await f.resetOutbox();
    for (const [orderId, status] of [
      [done, "done"],
      [canceled, "canceled"],
    ] as const) {
      const before = await f.row(orderId);
      const res = await f.call("POST", `/couriers/me/deliveries/${orderId}/done`, ONE);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: "INVALID_TRANSITION", status });
      expect(await f.row(orderId)).toEqual(before);
    }
    expect(await f.outbox()).toEqual([]);
    expect(f.wakes()).toBe(0);
  });

  test("a bad order id: 400", async () => {
    for (const bad of ["0", "x", "1.0"]) expect((await f.call("POST", `/couriers/me/deliveries/${bad}/done`, ONE)).status, bad).toBe(400);
  });
});
