// Validates what a job carries against the contract (shared/src/notifications/events.ts) before anything is
// done with it. Malformed data will be just as malformed on the next attempt, and so will a job name this
// worker has no handler for (an event type subscribed to this queue by mistake): both fail the job for good.
import { UnrecoverableError, type Job } from "bullmq";
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

export class InvalidJobDataError extends UnrecoverableError {
  constructor(jobName: string, detail: string) {
    super(`job ${jobName} has invalid data: ${detail}`);
  }
}

/** A job name with no processor here: retrying cannot grow one, so it is a dead letter at its first attempt. */
export class NoHandlerError extends UnrecoverableError {
  constructor(jobName: string) {
    super(`no handler for ${jobName}`);
  }
}

const id = z.number().int().positive().max(2_147_483_647);
const cents = z.number().int().nonnegative();
const envelope = {
  event_id: z.string().min(1),
  occurred_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be a date-time"),
};

const backInStock = z.object({
  ...envelope,
  type: z.literal("stock.back_in_stock"),
  payload: z.object({ product_id: id, inventory: z.number().int() }),
});
const priceDropped = z.object({
  ...envelope,
  type: z.literal("price.dropped"),
  payload: z.object({ product_id: id, product_name: z.string().min(1), old_price_cents: cents, new_price_cents: cents }),
});
const cartChanged = z.object({
  ...envelope,
  type: z.literal("cart.changed"),
  payload: z.object({ user_id: id, items: z.number().int().nonnegative() }),
});
const orderConfirmed = z.object({
  ...envelope,
  type: z.literal("order.confirmed"),
  payload: z.object({ order_id: id, user_id: id, total_cents: cents }),
});
const orderCancelled = z.object({
  ...envelope,
  type: z.literal("order.cancelled"),
  // The reason goes into the title the customer reads: a blank one would leave "cancelled: " hanging.
  payload: z.object({ order_id: id, user_id: id, reason: z.string().refine((s) => s.trim() !== "", "must not be blank") }),
});
const deliveryAssigned = z.object({
  ...envelope,
  type: z.literal("delivery.assigned"),
  // The courier's name goes into the body the customer reads.
  payload: z.object({ order_id: id, user_id: id, courier_id: id, courier_name: z.string().max(200).refine((s) => s.trim() !== "", "must not be blank") }),
});
const deliveryDone = z.object({
  ...envelope,
  type: z.literal("delivery.done"),
  payload: z.object({ order_id: id, user_id: id, courier_id: id }),
});
/** armed_at (the arming change's occurred_at) is ours, beyond the contract's fields; older jobs may lack it. */
const cartReminder = z.object({ user_id: id, armed_by: z.string().min(1), armed_at: envelope.occurred_at.optional() });

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

const schemas = {
  "stock.back_in_stock": backInStock,
  "price.dropped": priceDropped,
  "cart.changed": cartChanged,
  "order.confirmed": orderConfirmed,
  "order.cancelled": orderCancelled,
  "delivery.assigned": deliveryAssigned,
  "delivery.done": deliveryDone,
  [CART_REMINDER]: cartReminder,
} as const;

/**
 * The job's name picks the schema: a name without one (order.created, say) is a NoHandlerError, data that does
 * not fit an InvalidJobDataError. Own properties only, so "constructor" or "__proto__" find no schema either.
 */
export function parseJob(job: Pick<Job, "name" | "data">): ParsedJob {
  const schema = Object.hasOwn(schemas, job.name) ? schemas[job.name as keyof typeof schemas] : undefined;
  if (!schema) throw new NoHandlerError(job.name);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
  return { name: job.name, data: parsed.data } as ParsedJob;
}
