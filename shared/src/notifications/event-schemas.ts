// The events' payloads as zod schemas: what every consumer (the notifications, orders and delivery workers)
// checks a job against before doing anything with it. Malformed data is just as malformed on the next attempt,
// and a job name the consumer has no handler for (an event type subscribed to its queue by mistake) cannot grow
// one: both fail the job for good (UnrecoverableError), a dead letter at its first attempt.
import { UnrecoverableError, type Job } from "bullmq";
import { z } from "zod";
import { MAX_INT4 } from "../validate.ts";
import type { EventJobData, EventType } from "./events.ts";

export class InvalidJobDataError extends UnrecoverableError {
  constructor(jobName: string, detail: string) {
    super(`job ${jobName} has invalid data: ${detail}`);
  }
}

/** A job name with no processor here: retrying cannot grow one. */
export class NoHandlerError extends UnrecoverableError {
  constructor(jobName: string) {
    super(`no handler for ${jobName}`);
  }
}

// Ids go into integer columns: one past an int4 would be a database error on every attempt, not a bad job.
const id = z.number().int().positive().max(MAX_INT4);
const cents = z.number().int().nonnegative();
const text = (max: number) => z.string().min(1).max(max);
/** Words a customer reads (a title, a history line): a blank one would leave "cancelled: " hanging. */
const words = (max: number) => z.string().max(max).refine((s) => s.trim() !== "", "must not be blank");
/** "YYYY-MM-DD" naming a real day: 2026-02-30 would be refused by a date column on every attempt. */
const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "is not a calendar date");

export const occurredAt = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be a date-time");
const envelope = {
  // The emitter's outbox row id; consumers key their processed_events (a uuid column) on it.
  event_id: z.uuid(),
  occurred_at: occurredAt,
};

const event = <T extends EventType, P extends z.ZodType>(type: T, payload: P) => z.object({ ...envelope, type: z.literal(type), payload });

export const EVENT_SCHEMAS = {
  "stock.back_in_stock": event("stock.back_in_stock", z.object({ product_id: id, inventory: z.number().int() })),
  "price.dropped": event("price.dropped", z.object({ product_id: id, product_name: z.string().min(1), old_price_cents: cents, new_price_cents: cents })),
  "product.changed": event(
    "product.changed",
    z.object({ product_id: id, changed: z.array(z.enum(["product_name", "price_cents", "description"])).min(1) }),
  ),
  "cart.changed": event("cart.changed", z.object({ user_id: id, items: z.number().int().nonnegative() })),
  "order.created": event(
    "order.created",
    z.object({
      order_id: id,
      user_id: id,
      total_cents: cents,
      items: z.array(z.object({ product_id: id, quantity: z.number().int().positive(), price_cents: cents })),
      shipping_address: z.object({ name: text(200), line1: text(400), city: text(200), postal_code: text(40), country: text(2) }),
      delivery_date: calendarDate.nullable(),
    }),
  ),
  "order.paid": event("order.paid", z.object({ order_id: id, user_id: id, payment_id: z.string().min(1), amount_cents: cents })),
  "order.confirmed": event("order.confirmed", z.object({ order_id: id, user_id: id, total_cents: cents })),
  "order.cancelled": event("order.cancelled", z.object({ order_id: id, user_id: id, reason: words(1000) })),
  "delivery.assigned": event("delivery.assigned", z.object({ order_id: id, user_id: id, courier_id: id, courier_name: words(200) })),
  "delivery.done": event("delivery.done", z.object({ order_id: id, user_id: id, courier_id: id })),
  "delivery.canceled": event("delivery.canceled", z.object({ order_id: id, user_id: id, reason: words(1000) })),
} satisfies Record<EventType, z.ZodType>;

/** An event job's data, narrowed to the types a consumer handles. */
export type HandledEvent<T extends EventType> = Extract<EventJobData, { type: T }>;

/**
 * The job's name picks the schema among the types this consumer `handles`; the data's `type` must be that name
 * (a job named delivery.done carrying an assignment is refused, not half-understood). Own properties only, so
 * "constructor" or "__proto__" find no schema either.
 */
export function parseEventJob<T extends EventType>(job: Pick<Job, "name" | "data">, handles: readonly T[]): HandledEvent<T> {
  const name = job.name as T;
  if (!handles.includes(name) || !Object.hasOwn(EVENT_SCHEMAS, name)) throw new NoHandlerError(job.name);
  const parsed = EVENT_SCHEMAS[name].safeParse(job.data);
  if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
  return parsed.data as HandledEvent<T>;
}
