// delivery.assigned ("on its way", naming the courier) and delivery.done ("delivered"): tell the customer whose
// order it is, on every channel (deliver.ts). The inbox row is keyed by the event id, so the relay re-publishing
// or a stalled job re-run adds nothing.
import type { DeliveryAssigned, DeliveryDone } from "@storefront/shared/notifications/events";
import type { Envelope } from "../job-data.ts";
import { deliveryAssignedContent, deliveryDoneContent } from "../notification-content.ts";
import type { ProcessorContext } from "./context.ts";
import { deliver } from "./deliver.ts";

export type DeliveryEventResult = { recipients: number };

export async function processDeliveryEvent(
  ctx: ProcessorContext,
  event: (DeliveryAssigned | DeliveryDone) & Envelope,
  signal?: AbortSignal,
): Promise<DeliveryEventResult> {
  const content = event.type === "delivery.assigned" ? deliveryAssignedContent(event.payload) : deliveryDoneContent(event.payload);
  const notification = { event_id: event.event_id, type: event.type, ...content, payload: event.payload };
  await deliver(ctx, notification, [event.payload.user_id], signal);
  return { recipients: 1 };
}
