// Validates what a job carries against the contract (shared/src/notifications/events.ts) before anything is
// done with it. Malformed data will be just as malformed on the next attempt, and so will a job name this
// worker has no handler for (an event type subscribed to this queue by mistake): both fail the job for good.
import type { Job } from "bullmq";
import { z } from "zod";
import {
  CART_REMINDER,
  type BackInStock,
  type CartChanged,
  type CartReminderJobData,
  type DeliveryAssigned,
  type DeliveryDone,
  type OrderCancelled,
  type OrderConfirmed,
  type PriceDropped,
} from "@storefront/shared/notifications/events";
import { InvalidJobDataError, NoHandlerError, occurredAt, parseEventJob } from "@storefront/shared/notifications/event-schemas";

export { InvalidJobDataError, NoHandlerError };

const id = z.number().int().positive().max(2_147_483_647);

/** armed_at (the arming change's occurred_at) is ours, beyond the contract's fields; older jobs may lack it. */
const cartReminder = z.object({ user_id: id, armed_by: z.string().min(1), armed_at: occurredAt.optional() });

export type Envelope = { event_id: string; occurred_at: string };
export type ReminderData = CartReminderJobData & { armed_at?: string };

export type ParsedJob =
  | { name: "stock.back_in_stock"; data: BackInStock & Envelope }
  | { name: "price.dropped"; data: PriceDropped & Envelope }
  | { name: "cart.changed"; data: CartChanged & Envelope }
  | { name: "order.confirmed"; data: OrderConfirmed & Envelope }
  | { name: "order.cancelled"; data: OrderCancelled & Envelope }
  | { name: "delivery.assigned"; data: DeliveryAssigned & Envelope }
  | { name: "delivery.done"; data: DeliveryDone & Envelope }
  | { name: typeof CART_REMINDER; data: ReminderData };

/** The event types this worker has a processor for; any other name on its queue is a dead letter. */
export const HANDLED = ["stock.back_in_stock", "price.dropped", "cart.changed", "order.confirmed", "order.cancelled", "delivery.assigned", "delivery.done"] as const;

/**
 * The job's name picks the schema (shared/src/notifications/event-schemas.ts for events, the reminder's here):
 * a name without one (order.created, say) is a NoHandlerError, data that does not fit an InvalidJobDataError.
 */
export function parseJob(job: Pick<Job, "name" | "data">): ParsedJob {
  if (job.name === CART_REMINDER) {
    const parsed = cartReminder.safeParse(job.data);
    if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
    return { name: CART_REMINDER, data: parsed.data };
  }
  const data = parseEventJob(job, HANDLED);
  return { name: data.type, data } as ParsedJob;
}
