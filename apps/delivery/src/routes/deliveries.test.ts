// The managers' routes as an admin uses them: the couriers, keyset pages of deliveries by status, one delivery
// with its history, and assigning a courier (200 with the event written and the relay woken; 409
// INVALID_TRANSITION naming the status; 404 for an unknown delivery or courier; 400 for bad input, nothing written).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ADDRESS, ADMIN, deliveryFixture, type DeliveryFixture } from "../testing/delivery-fixture.ts";

let f: DeliveryFixture;
beforeAll(async () => {
  f = await deliveryFixture("delivery_admin");
}, 60_000);
afterAll(() => f?.close());
beforeEach(() => f.resetOutbox());

const ISO = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

describe("GET /couriers", () => {
  test("the seeded couriers, by id", async () => {
    expect(await f.call("GET", "/couriers", ADMIN)).toEqual({
      status: 200,
      body: [
        { courier_id: 1, name: "Courier One" },
        { courier_id: 2, name: "Courier Two" },
      ],
    });
  });
});

describe("GET /deliveries/:order_id", () => {
  test("the delivery as the contract shows it, with its courier and history", async () => {
    const orderId = await f.seed("assigned", 5);
    const { status, body } = await f.call("GET", `/deliveries/${orderId}`, ADMIN);
    expect(status).toBe(200);
    expect(body).toEqual({
      order_id: orderId,
      user_id: 5,
      status: "activated",
      shipping_address: ADDRESS,
      delivery_date: "2031-05-04",
      courier: { courier_id: 1, name: "Courier One" },
      version: 3,
      created_at: ISO,
      updated_at: ISO,
      history: [
        { from: null, to: "created", at: ISO, by: "test" },
        { from: "created", to: "activated", at: ISO, by: "test" },
        { from: "activated", to: "activated", at: ISO, by: "test" },
      ],
    });
  });

  test("unknown: 404 NOT_FOUND; not a plain positive integer: 400", async () => {
    const missing = await f.call("GET", "/deliveries/999999", ADMIN);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    for (const bad of ["0", "-1", "1.5", "01", "abc", "99999999999"]) {
      const res = await f.call("GET", `/deliveries/${bad}`, ADMIN);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code, bad).toBe("BAD_REQUEST");
    }
  });
});

describe("GET /deliveries", () => {
  test("keyset pages in order_id order cover every delivery once; status filters", async () => {
    const made = [await f.seed("created"), await f.seed("activated"), await f.seed("done"), await f.seed("activated"), await f.seed("canceled")];
    const seen: number[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const page = await f.call("GET", `/deliveries?limit=2&after=${after}`, ADMIN);
      expect(page.status).toBe(200);
      expect(page.body.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.deliveries.map((d: { order_id: number }) => d.order_id));
      after = page.body.next_after;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    for (const id of made) expect(seen.filter((s) => s === id)).toHaveLength(1);

    const activated = await f.call("GET", `/deliveries?status=activated&after=${made[0]! - 1}`, ADMIN);
    const ids = activated.body.deliveries.map((d: { order_id: number }) => d.order_id);
    expect(ids).toEqual(expect.arrayContaining([made[1], made[3]]));
    expect(activated.body.deliveries.every((d: { status: string }) => d.status === "activated")).toBe(true);
    expect(activated.body.deliveries[0].history.length).toBeGreaterThan(0);
  });

  test("the last page says next_after: null; an empty one too", async () => {
    const page = await f.call("GET", "/deliveries?after=2000000000", ADMIN);
    expect(page).toEqual({ status: 200, body: { deliveries: [], next_after: null } });
  });

  test("bad queries: 400 BAD_REQUEST", async () => {
    for (const q of ["status=shipped", "limit=0", "limit=101", "after=-1", "after=x", "limit=", "other=1"]) {
      const res = await f.call("GET", `/deliveries?${q}`, ADMIN);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code, q).toBe("BAD_REQUEST");
    }
  });
});

describe("POST /deliveries/:order_id/courier", () => {
  test("on an activated delivery: 200 with the courier, delivery.assigned written, the relay woken", async () => {
    const orderId = await f.seed("activated", 9);
    await f.resetOutbox();
    const res = await f.call("POST", `/deliveries/${orderId}/courier`, ADMIN, { courier_id: 2 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ order_id: orderId, status: "activated", courier: { courier_id: 2, name: "Courier Two" }, version: 3 });
    expect(res.body.history.at(-1)).toEqual({ from: "activated", to: "activated", at: ISO, by: "admin user 6" });
    expect(await f.outbox()).toEqual([{ type: "delivery.assigned", payload: { order_id: orderId, user_id: 9, courier_id: 2, courier_name: "Courier Two" } }]);
    expect(f.wakes()).toBe(1);
  });

  for (const [setup, status] of [
    ["created", "created"],
    ["assigned", "activated"],
    ["done", "done"],
    ["canceled", "canceled"],
  ] as const) {
    test(`on a ${setup} delivery: 409 INVALID_TRANSITION with status ${status}, nothing written`, async () => {
      const orderId = await f.seed(setup);
      await f.resetOutbox();
      const before = await f.row(orderId);
      const res = await f.call("POST", `/deliveries/${orderId}/courier`, ADMIN, { courier_id: 2 });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: "INVALID_TRANSITION", status });
      expect(res.body.error.message).toContain(`is ${status}`);
      expect(await f.row(orderId)).toEqual(before);
      expect(await f.outbox()).toEqual([]);
      expect(f.wakes()).toBe(0);
    });
  }

  test("an unknown delivery: 404; an unknown courier: 404 naming the courier; nothing written", async () => {
    const unknownDelivery = await f.call("POST", "/deliveries/999999/courier", ADMIN, { courier_id: 1 });
    expect(unknownDelivery.status).toBe(404);
    expect(unknownDelivery.body.error.code).toBe("NOT_FOUND");
    const orderId = await f.seed("activated");
    await f.resetOutbox();
    const unknownCourier = await f.call("POST", `/deliveries/${orderId}/courier`, ADMIN, { courier_id: 3 });
    expect(unknownCourier.status).toBe(404);
    expect(unknownCourier.body.error).toMatchObject({ code: "NOT_FOUND", message: "no courier 3" });
    expect(await f.row(orderId)).toMatchObject({ courier_id: null, version: 2 });
    expect(await f.outbox()).toEqual([]);
  });

  test("bad bodies and paths: 400 BAD_REQUEST, nothing written", async () => {
    const orderId = await f.seed("activated");
    await f.resetOutbox();
    for (const body of [{}, { courier_id: "1" }, { courier_id: 0 }, { courier_id: 1.5 }, { courier_id: 1, extra: true }, { courier_id: 3_000_000_000 }]) {
      const res = await f.call("POST", `/deliveries/${orderId}/courier`, ADMIN, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("BAD_REQUEST");
    }
    const malformed = await f.app.request(`/deliveries/${orderId}/courier`, {
      method: "POST",
      headers: { ...(await f.issuer.auth(6, "admin")), "content-type": "application/json" },
      body: '{"courier_id": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error.code).toBe("BAD_REQUEST");
    expect((await f.call("POST", "/deliveries/abc/courier", ADMIN, { courier_id: 1 })).status).toBe(400);
    expect(await f.row(orderId)).toMatchObject({ courier_id: null, version: 2 });
    expect(await f.outbox()).toEqual([]);
  });
});
