import { describe, expect, test } from "bun:test";
import { EVENT_SCHEMAS, InvalidJobDataError, NoHandlerError, parseEventJob } from "./event-schemas.ts";
import { SUBSCRIPTIONS, type OutboxEvent } from "./events.ts";

const ADDRESS = { name: "Ada", line1: "12 Analytical St", city: "London", postal_code: "N1 9GU", country: "GB" };
/** One event of every type, as the emitters write them. */
const SAMPLES: OutboxEvent[] = [
  { type: "stock.back_in_stock", payload: { product_id: 6, inventory: 5 } },
  { type: "price.dropped", payload: { product_id: 2, product_name: "Tea", old_price_cents: 500, new_price_cents: 400 } },
  { type: "cart.changed", payload: { user_id: 1, items: 0 } },
  { type: "order.created", payload: { order_id: 1, user_id: 1, total_cents: 990, items: [{ product_id: 1, quantity: 1, price_cents: 990 }], shipping_address: ADDRESS, delivery_date: "2026-12-24" } },
  { type: "order.paid", payload: { order_id: 1, user_id: 1, payment_id: "6f1c3f0e-5a4b-4f57-9a51-7f0f4b8a2c11", amount_cents: 990 } },
  { type: "order.confirmed", payload: { order_id: 1, user_id: 1, total_cents: 990 } },
  { type: "order.cancelled", payload: { order_id: 1, user_id: 1, reason: "payment declined (card_declined)" } },
  { type: "delivery.assigned", payload: { order_id: 1, user_id: 1, courier_id: 1, courier_name: "Courier One" } },
  { type: "delivery.done", payload: { order_id: 1, user_id: 1, courier_id: 1 } },
  { type: "delivery.canceled", payload: { order_id: 1, user_id: 1, reason: "the order was cancelled" } },
  { type: "product.changed", payload: { product_id: 2, changed: ["price_cents", "product_name"] } },
];
const job = (event: OutboxEvent, name: string = event.type) => ({ name, data: { ...event, event_id: crypto.randomUUID(), occurred_at: new Date().toISOString() } });
const ALL = Object.keys(SUBSCRIPTIONS) as (keyof typeof SUBSCRIPTIONS)[];

describe("event schemas", () => {
  test("every event type has a schema, and what each emitter writes passes it", () => {
    expect(Object.keys(EVENT_SCHEMAS).sort()).toEqual([...ALL].sort());
    expect(SAMPLES.map((e) => e.type).sort()).toEqual([...ALL].sort());
    for (const event of SAMPLES) expect(parseEventJob(job(event), ALL)).toMatchObject({ type: event.type });
  });

  test("a name this consumer does not handle, or an inherited property's name, is a NoHandlerError", () => {
    expect(() => parseEventJob(job(SAMPLES[3]!), ["order.paid"])).toThrow(NoHandlerError);
    expect(() => parseEventJob({ name: "constructor", data: {} }, ALL)).toThrow(NoHandlerError);
    expect(() => parseEventJob({ name: "__proto__", data: {} }, ALL)).toThrow("no handler for __proto__");
  });

  test("data that does not fit, or a job named for another type, is an InvalidJobDataError (a dead letter at once)", () => {
    const done = SAMPLES.find((e) => e.type === "delivery.done")!;
    expect(() => parseEventJob(job(done, "delivery.assigned"), ALL)).toThrow(InvalidJobDataError);
    const bad = [
      { ...job(SAMPLES[5]!), data: { ...job(SAMPLES[5]!).data, event_id: "not-a-uuid" } },
      job({ type: "order.cancelled", payload: { order_id: 1, user_id: 1, reason: "  " } }),
      job({ type: "order.confirmed", payload: { order_id: 2_147_483_648, user_id: 1, total_cents: 1 } }),
      job({ type: "order.created", payload: { ...(SAMPLES[3]!.payload as object), delivery_date: "2026-02-30" } } as OutboxEvent),
    ];
    for (const j of bad) expect(() => parseEventJob(j, ALL)).toThrow(InvalidJobDataError);
  });

  test("product.changed must name at least one field, and only fields a PATCH can change", () => {
    const changed = (fields: unknown) => job({ type: "product.changed", payload: { product_id: 2, changed: fields } } as OutboxEvent);
    expect(parseEventJob(changed(["description"]), ["product.changed"]).payload).toEqual({ product_id: 2, changed: ["description"] });
    for (const fields of [[], ["sku"], "price_cents", null]) expect(() => parseEventJob(changed(fields), ["product.changed"])).toThrow(InvalidJobDataError);
  });
});
