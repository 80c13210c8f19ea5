// Validates what a job carries against the contract (shared/src/notifications/events.ts) before anything is
// done with it. Malformed data will be just as malformed on the next attempt, so it fails the job for good.
import { UnrecoverableError, type Job } from "bullmq";
import { z } from "zod";
import { CART_REMINDER, type BackInStock, type CartChanged, type CartReminderJobData, type PriceDropped } from "@storefront/shared/notifications/events";

export class InvalidJobDataError extends UnrecoverableError {
  constructor(jobName: string, detail: string) {
    super(`job ${jobName} has invalid data: ${detail}`);
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
/** armed_at (the arming change's occurred_at) is ours, beyond the contract's fields; older jobs may lack it. */
const cartReminder = z.object({ user_id: id, armed_by: z.string().min(1), armed_at: envelope.occurred_at.optional() });

export type Envelope = { event_id: string; occurred_at: string };
export type ReminderData = CartReminderJobData & { armed_at?: string };

export type ParsedJob =
  | { name: "stock.back_in_stock"; data: BackInStock & Envelope }
  | { name: "price.dropped"; data: PriceDropped & Envelope }
  | { name: "cart.changed"; data: CartChanged & Envelope }
  | { name: typeof CART_REMINDER; data: ReminderData };

const schemas = {
  "stock.back_in_stock": backInStock,
  "price.dropped": priceDropped,
  "cart.changed": cartChanged,
  [CART_REMINDER]: cartReminder,
} as const;

/** The job's name picks the schema; an unknown name or data that does not fit is an InvalidJobDataError. */
export function parseJob(job: Pick<Job, "name" | "data">): ParsedJob {
  const schema = schemas[job.name as keyof typeof schemas];
  if (!schema) throw new InvalidJobDataError(job.name, `unknown job name "${job.name}"`);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
  return { name: job.name, data: parsed.data } as ParsedJob;
}
