// The delivery state machine: which moves are legal from which statuses, what each needs of the courier, and
// which event each one emits. db/deliveries.ts applies a move as one conditional update built from this table;
// nothing else changes a delivery's status.
import type { DeliveryAssigned, DeliveryCanceled, DeliveryDone } from "@storefront/shared/notifications/events";

export const STATUSES = ["created", "activated", "done", "canceled"] as const;
export type DeliveryStatus = (typeof STATUSES)[number];

/** A move and what it carries: the courier given (assign), the courier acting (complete), the reason (cancel). */
export type Move =
  | { action: "activate" }
  | { action: "assign"; courier: { courier_id: number; name: string } }
  | { action: "complete"; courier_id: number }
  | { action: "cancel"; reason: string };
export type Action = Move["action"];

/**
 * What a move needs of the delivery's courier before it: none assigned yet (so two managers cannot both assign),
 * the acting courier (only the assigned courier completes), or it does not matter.
 */
export type CourierRule = "none" | "mover" | "any";

export type Transition = { readonly from: readonly DeliveryStatus[]; readonly to: DeliveryStatus; readonly courier: CourierRule };

/**
 * Every legal transition. created -> activated when the order is paid; activated -> activated when a manager
 * gives it a courier; activated -> done by that courier; created or activated -> canceled. A delivery already
 * canceled is not canceled again (that would emit a second delivery.canceled), and done is final.
 */
export const TRANSITIONS: Readonly<Record<Action, Transition>> = {
  activate: { from: ["created"], to: "activated", courier: "any" },
  assign: { from: ["activated"], to: "activated", courier: "none" },
  complete: { from: ["activated"], to: "done", courier: "mover" },
  cancel: { from: ["created", "activated"], to: "canceled", courier: "any" },
};

const VERB: Record<Action, string> = { activate: "activate", assign: "assign a courier to", complete: "mark done", cancel: "cancel" };

export type DeliveryState = { status: DeliveryStatus; courier_id: number | null };

/** The courier a move leaves on the delivery. */
export const courierAfter = (move: Move, before: DeliveryState): number | null =>
  move.action === "assign" ? move.courier.courier_id : before.courier_id;

/** Null when `move` is legal from `state`; otherwise why not, in words for the 409's message. */
export function refusal(move: Move, state: DeliveryState): string | null {
  const { from, courier } = TRANSITIONS[move.action];
  if (!from.includes(state.status)) return `cannot ${VERB[move.action]} a delivery that is ${state.status}`;
  if (courier === "none" && state.courier_id !== null) return `the delivery already has courier ${state.courier_id}`;
  if (courier === "mover" && (move.action !== "complete" || state.courier_id !== move.courier_id)) {
    return state.courier_id === null ? "the delivery has no courier yet" : `the delivery is courier ${state.courier_id}'s`;
  }
  return null;
}

type After = { order_id: number; user_id: number; courier_id: number | null };
export type DeliveryEvent = DeliveryAssigned | DeliveryDone | DeliveryCanceled;

/** The event a move emits once applied (activation emits none: nothing outside delivery waits for it). */
export function eventFor(move: Move, after: After): DeliveryEvent | null {
  const { order_id, user_id } = after;
  switch (move.action) {
    case "activate":
      return null;
    case "assign":
      return { type: "delivery.assigned", payload: { order_id, user_id, courier_id: move.courier.courier_id, courier_name: move.courier.name } };
    case "complete":
      return { type: "delivery.done", payload: { order_id, user_id, courier_id: move.courier_id } };
    case "cancel":
      return { type: "delivery.canceled", payload: { order_id, user_id, reason: move.reason } };
  }
}
