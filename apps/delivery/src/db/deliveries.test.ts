// Every move from every state on a real Postgres: a legal one is one conditional update with its history row and
// its outbox event; an illegal one (or a courier's move on a delivery that is not theirs) changes nothing at
// all. And the conditional update itself refuses a read that another transaction has made stale.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { Move } from "../state-machine.ts";
import { COURIER_ONE, COURIER_TWO, deliveryFixture, SETUPS, type DeliveryFixture, type Setup } from "../testing/delivery-fixture.ts";
import { applyMove, createDelivery, moveDelivery } from "./deliveries.ts";

let f: DeliveryFixture;
beforeAll(async () => {
  f = await deliveryFixture("delivery_moves");
}, 60_000);
afterAll(() => f?.close());
beforeEach(() => f.resetOutbox());

const MOVES: Record<string, Move> = {
  activate: { action: "activate" },
  "assign courier 2": { action: "assign", courier: COURIER_TWO },
  "complete by courier 1": { action: "complete", courier_id: COURIER_ONE.courier_id },
  "complete by courier 2": { action: "complete", courier_id: COURIER_TWO.courier_id },
  cancel: { action: "cancel", reason: "customer asked" },
};

type Expected =
  | { applied: { status: string; courier_id: number | null; event: string | null } }
  | { refused: string }
  | "not_found";

const applied = (status: string, courier_id: number | null, event: string | null): Expected => ({ applied: { status, courier_id, event } });

// "assigned" and "done" carry courier 1. A courier's move on a delivery that is not theirs (none yet, or
// courier 1's for courier 2) finds nothing: the route answers 404 for it.
const TABLE: Record<Setup, Record<keyof typeof MOVES, Expected>> = {
  created: {
    activate: applied("activated", null, null),
    "assign courier 2": { refused: "created" },
    "complete by courier 1": "not_found",
    "complete by courier 2": "not_found",
    cancel: applied("canceled", null, "delivery.canceled"),
  },
  activated: {
    activate: { refused: "activated" },
    "assign courier 2": applied("activated", 2, "delivery.assigned"),
    "complete by courier 1": "not_found",
    "complete by courier 2": "not_found",
    cancel: applied("canceled", null, "delivery.canceled"),
  },
  assigned: {
    activate: { refused: "activated" },
    "assign courier 2": { refused: "activated" },
    "complete by courier 1": applied("done", 1, "delivery.done"),
    "complete by courier 2": "not_found",
    cancel: applied("canceled", 1, "delivery.canceled"),
  },
  done: {
    activate: { refused: "done" },
    "assign courier 2": { refused: "done" },
    "complete by courier 1": { refused: "done" },
    "complete by courier 2": "not_found",
    cancel: { refused: "done" },
  },
  canceled: {
    activate: { refused: "canceled" },
    "assign courier 2": { refused: "canceled" },
    "complete by courier 1": "not_found",
    "complete by courier 2": "not_found",
    cancel: { refused: "canceled" },
  },
};

describe("every move from every state", () => {
  test("the table covers every state", () => expect(Object.keys(TABLE).sort()).toEqual([...SETUPS].sort()));

  for (const setup of SETUPS) {
    for (const [name, expected] of Object.entries(TABLE[setup])) {
      const verdict = expected === "not_found" ? "not found" : "refused" in expected ? `409 naming ${expected.refused}` : `-> ${expected.applied.status}`;
      test(`${name} on a ${setup} delivery: ${verdict}`, async () => {
        const orderId = await f.seed(setup);
        await f.resetOutbox();
        const before = (await f.row(orderId))!;
        const historyBefore = await f.history(orderId);

        const result = await f.move(orderId, MOVES[name]!, "the test");

        if (expected !== "not_found" && "applied" in expected) {
          const want = expected.applied;
          expect(result.outcome).toBe("applied");
          const after = (await f.row(orderId))!;
          expect(after).toMatchObject({ status: want.status, courier_id: want.courier_id, version: before.version + 1 });
          expect(after.updated_at.getTime()).toBeGreaterThanOrEqual(before.updated_at.getTime());
          expect((await f.history(orderId)).slice(historyBefore.length)).toEqual([
            { from_status: before.status, to_status: want.status, courier_id: want.courier_id, by: "the test" },
          ]);
          const events = await f.outbox();
          expect(events.map((e) => e.type)).toEqual(want.event ? [want.event] : []);
          if (want.event) expect(events[0]!.payload).toMatchObject({ order_id: orderId, user_id: 42 });
          return;
        }
        if (expected === "not_found") expect(result).toEqual({ outcome: "not_found" });
        else expect(result).toMatchObject({ outcome: "refused", status: expected.refused });
        // Nothing at all changed: the row (version, timestamps), the history, the outbox.
        expect(await f.row(orderId)).toEqual(before);
        expect(await f.history(orderId)).toEqual(historyBefore);
        expect(await f.outbox()).toEqual([]);
      });
    }
  }
});

describe("the conditional update", () => {
  test("a read made stale by another transaction is refused: nothing written, and the winner's move stands", async () => {
    const orderId = await f.seed("activated");
    await f.resetOutbox();
    const stale = (await f.row(orderId))!;
    // Another manager assigns courier 1 between this one's read and its update.
    expect((await f.move(orderId, { action: "assign", courier: COURIER_ONE })).outcome).toBe("applied");
    const late = await f.sql.begin((tx) => applyMove(tx, stale, { action: "assign", courier: COURIER_TWO }, "the loser"));
    expect(late).toBeNull();
    expect(await f.row(orderId)).toMatchObject({ status: "activated", courier_id: 1, version: stale.version + 1 });
    expect((await f.history(orderId)).map((h) => h.by)).not.toContain("the loser");
    expect((await f.outbox()).map((e) => e.payload)).toEqual([{ order_id: orderId, user_id: 42, courier_id: 1, courier_name: "Courier One" }]);
  });

  test("a move that lost the race is judged again on what the winner left: a cancel after a concurrent assign still cancels", async () => {
    const orderId = await f.seed("activated");
    const stale = (await f.row(orderId))!;
    await f.move(orderId, { action: "assign", courier: COURIER_ONE });
    // The stale update is refused, and moveDelivery reads again: cancel is still legal from activated.
    expect(await f.sql.begin((tx) => applyMove(tx, stale, { action: "cancel", reason: "x" }, "t"))).toBeNull();
    const result = await f.move(orderId, { action: "cancel", reason: "x" });
    expect(result).toMatchObject({ outcome: "applied", delivery: { status: "canceled", courier_id: 1 } });
  });

  test("a failure after the update rolls back the update and its history row with it", async () => {
    const orderId = await f.seed("created");
    const before = (await f.row(orderId))!;
    await expect(
      f.sql.begin(async (tx) => {
        await moveDelivery(tx, orderId, { action: "activate" }, "t");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await f.row(orderId)).toEqual(before);
    expect(await f.history(orderId)).toHaveLength(1);
  });
});

describe("creating", () => {
  test("once per order: a second create for the same order is null and changes nothing", async () => {
    const order = { order_id: 77, user_id: 3, shipping_address: { name: "A", line1: "B", city: "C", postal_code: "D", country: "DE" }, delivery_date: null };
    const first = await f.sql.begin((tx) => createDelivery(tx, order, "event order.created"));
    expect(first).toMatchObject({ order_id: 77, user_id: 3, status: "created", courier_id: null, version: 1 });
    expect(await f.sql.begin((tx) => createDelivery(tx, { ...order, user_id: 4 }, "again"))).toBeNull();
    expect(await f.row(77)).toMatchObject({ user_id: 3, version: 1 });
    expect(await f.history(77)).toEqual([{ from_status: null, to_status: "created", courier_id: null, by: "event order.created" }]);
  });

  test("the schema refuses what no move makes: done without a courier, created with one", async () => {
    const orderId = await f.seed("activated");
    await expect(f.sql`update deliveries set status = 'done' where order_id = ${orderId}`).rejects.toThrow();
    const created = await f.seed("created");
    await expect(f.sql`update deliveries set courier_id = 1 where order_id = ${created}`).rejects.toThrow();
  });
});
