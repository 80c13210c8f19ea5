// The transition table on its own: exactly the status pairs the issue allows are reachable, and refusal()
// answers every move from every status, with and without a courier, as the table says.
import { describe, expect, test } from "bun:test";
import { eventFor, refusal, STATUSES, TRANSITIONS, type DeliveryStatus, type Move } from "./state-machine.ts";

const LEGAL_PAIRS = ["created -> activated", "activated -> activated", "activated -> done", "created -> canceled", "activated -> canceled"];

describe("the transition table", () => {
  test("of all 16 status pairs, exactly the five the issue names are transitions", () => {
    const reachable = new Set(Object.values(TRANSITIONS).flatMap((t) => t.from.map((from) => `${from} -> ${t.to}`)));
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const pair = `${from} -> ${to}`;
        expect(reachable.has(pair), pair).toBe(LEGAL_PAIRS.includes(pair));
      }
    }
  });

  test("done is final and nothing leaves canceled", () => {
    for (const t of Object.values(TRANSITIONS)) {
      expect(t.from).not.toContain("done");
      expect(t.from).not.toContain("canceled");
    }
  });
});

const MOVES: Record<string, Move> = {
  activate: { action: "activate" },
  "assign courier 2": { action: "assign", courier: { courier_id: 2, name: "Courier Two" } },
  "complete by courier 1": { action: "complete", courier_id: 1 },
  "complete by courier 2": { action: "complete", courier_id: 2 },
  cancel: { action: "cancel", reason: "customer asked" },
};

// Every status with no courier and with courier 1 (the schema rules out created with one and done without,
// but the table must still refuse what it should there). "ok" = legal; otherwise a piece of the refusal.
const EXPECTED: Record<`${DeliveryStatus}/${"none" | "c1"}`, Record<keyof typeof MOVES, string>> = {
  "created/none": { activate: "ok", "assign courier 2": "that is created", "complete by courier 1": "that is created", "complete by courier 2": "that is created", cancel: "ok" },
  "created/c1": { activate: "ok", "assign courier 2": "that is created", "complete by courier 1": "that is created", "complete by courier 2": "that is created", cancel: "ok" },
  "activated/none": { activate: "that is activated", "assign courier 2": "ok", "complete by courier 1": "no courier yet", "complete by courier 2": "no courier yet", cancel: "ok" },
  "activated/c1": { activate: "that is activated", "assign courier 2": "already has courier 1", "complete by courier 1": "ok", "complete by courier 2": "courier 1's", cancel: "ok" },
  "done/none": { activate: "that is done", "assign courier 2": "that is done", "complete by courier 1": "that is done", "complete by courier 2": "that is done", cancel: "that is done" },
  "done/c1": { activate: "that is done", "assign courier 2": "that is done", "complete by courier 1": "that is done", "complete by courier 2": "that is done", cancel: "that is done" },
  "canceled/none": { activate: "that is canceled", "assign courier 2": "that is canceled", "complete by courier 1": "that is canceled", "complete by courier 2": "that is canceled", cancel: "that is canceled" },
  "canceled/c1": { activate: "that is canceled", "assign courier 2": "that is canceled", "complete by courier 1": "that is canceled", "complete by courier 2": "that is canceled", cancel: "that is canceled" },
};

describe("refusal(): every move from every status", () => {
  for (const [key, row] of Object.entries(EXPECTED)) {
    const [status, courier] = key.split("/") as [DeliveryStatus, string];
    for (const [name, expected] of Object.entries(row)) {
      test(`${name} on ${status} ${courier === "c1" ? "with courier 1" : "without a courier"}: ${expected === "ok" ? "legal" : "refused"}`, () => {
        const answer = refusal(MOVES[name]!, { status, courier_id: courier === "c1" ? 1 : null });
        if (expected === "ok") expect(answer).toBeNull();
        else expect(answer).toContain(expected);
      });
    }
  }
});

describe("the events the moves emit (the contract's payloads)", () => {
  const after = { order_id: 5, user_id: 42, courier_id: 2 };
  test("assign: delivery.assigned with the courier's id and name; complete: delivery.done; cancel: delivery.canceled with the reason", () => {
    expect(eventFor(MOVES["assign courier 2"]!, after)).toEqual({
      type: "delivery.assigned",
      payload: { order_id: 5, user_id: 42, courier_id: 2, courier_name: "Courier Two" },
    });
    expect(eventFor(MOVES["complete by courier 2"]!, after)).toEqual({ type: "delivery.done", payload: { order_id: 5, user_id: 42, courier_id: 2 } });
    expect(eventFor(MOVES.cancel!, after)).toEqual({ type: "delivery.canceled", payload: { order_id: 5, user_id: 42, reason: "customer asked" } });
  });

  test("activation emits nothing", () => {
    expect(eventFor(MOVES.activate!, after)).toBeNull();
  });
});
