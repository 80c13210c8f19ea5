// Validates what a job on the delivery queue carries against the contract (shared/src/notifications/events.ts)
// before anything is done with it. Malformed data will be as malformed on the next attempt, and a job name with
// no handler here cannot grow one: both fail the job at once (UnrecoverableError), a dead letter.
import { UnrecoverableError, type Job } from "bullmq";
import { z } from "zod";
import type { OrderCancelled, OrderCreated, OrderPaid } from "@storefront/shared/notifications/events";
import { MAX_INT4 } from "@storefront/shared/validate";

export class InvalidJobDataError extends UnrecoverableError {
  constructor(jobName: string, detail: string) {
    super(`job ${jobName} has invalid data: ${detail}`);
  }
}

export class NoHandlerError extends UnrecoverableError {
  constructor(jobName: string) {
    super(`no handler for ${jobName}`);
  }
}

// Ids go into integer columns: one past an int4 would be a database error on every attempt, not a bad job.
const id = z.number().int().positive().max(MAX_INT4);
const cents = z.number().int().nonnegative();
const text = (max: number) => z.string().min(1).max(max);
/** "YYYY-MM-DD" naming a real day: 2026-02-30 would be refused by the date column on every attempt. */
const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((s) => new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "is not a calendar date");
const envelope = {
  // The outbox row's id: processed_events keys on it (a uuid column).
  event_id: z.uuid(),
  occurred_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be a date-time"),
};

const orderCreated = z.object({
  ...envelope,
  type: z.literal("order.created"),
  payload: z.object({
    order_id: id,
    user_id: id,
    total_cents: cents,
    items: z.array(z.object({ product_id: id, quantity: z.number().int().positive(), price_cents: cents })),
    shipping_address: z.object({ name: text(200), line1: text(400), city: text(200), postal_code: text(40), country: text(2) }),
    delivery_date: calendarDate.nullable(),
  }),
});
const orderPaid = z.object({
  ...envelope,
  type: z.literal("order.paid"),
  payload: z.object({ order_id: id, user_id: id, payment_id: z.string().min(1), amount_cents: cents }),
});
const orderCancelled = z.object({
  ...envelope,
  type: z.literal("order.cancelled"),
  payload: z.object({ order_id: id, user_id: id, reason: z.string().min(1).max(1000) }),
});

type Envelope = { event_id: string; occurred_at: string };
export type OrderEvent = (OrderCreated | OrderPaid | OrderCancelled) & Envelope;

const schemas = { "order.created": orderCreated, "order.paid": orderPaid, "order.cancelled": orderCancelled } as const;

/**
 * The job's name picks the schema, and the data's `type` must be that name. Own properties only, so
 * "constructor" or "__proto__" find no schema either.
 */
export function parseJob(job: Pick<Job, "name" | "data">): OrderEvent {
  const schema = Object.hasOwn(schemas, job.name) ? schemas[job.name as keyof typeof schemas] : undefined;
  if (!schema) throw new NoHandlerError(job.name);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
  return parsed.data as OrderEvent;
}
