// order.confirmed and order.cancelled: tell the customer who placed the order, on every channel (deliver.ts).
// The inbox row is keyed by the event id, so the relay re-publishing or a stalled job re-run adds nothing.
import type { OrderCancelled, OrderConfirmed } from "@storefront/shared/notifications/events";
import type { Envelope } from "../job-data.ts";
import { orderCancelledContent, orderConfirmedContent } from "../notification-content.ts";
import type { ProcessorContext } from "./context.ts";
import { deliver } from "./deliver.ts";

export type OrderEventResult = { recipients: number };

export async function processOrderEvent(
  ctx: ProcessorContext,
  event: (OrderConfirmed | OrderCancelled) & Envelope,
  signal?: AbortSignal,
): Promise<OrderEventResult> {
  const content = event.type === "order.confirmed" ? orderConfirmedContent(event.payload) : orderCancelledContent(event.payload);
  const notification = { event_id: event.event_id, type: event.type, ...content, payload: event.payload };
  await deliver(ctx, notification, [event.payload.user_id], signal);
  return { recipients: 1 };
}
