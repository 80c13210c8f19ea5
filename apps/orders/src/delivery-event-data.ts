// Validates a job on the orders queue against the contract (shared/src/notifications/events.ts) before anything
// is done with it. Malformed data is just as malformed on the next attempt, and a job name with no handler
// here (an event type subscribed to this queue by mistake) cannot grow one: both fail the job for good.
import { UnrecoverableError, type Job } from "bullmq";
import { z } from "zod";
import type { DeliveryEvent } from "./db/delivery.ts";

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

const id = z.number().int().positive().max(2_147_483_647);
const envelope = {
  // The emitter's outbox row id (a uuid): processed_events is keyed by it.
  event_id: z.guid(),
  occurred_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be a date-time"),
};
const nonBlank = (max: number) => z.string().max(max).refine((s) => s.trim() !== "", "must not be blank");

const schemas = {
  "delivery.assigned": z.object({
    ...envelope,
    type: z.literal("delivery.assigned"),
    // The name goes into the customer's history line and onto the order.
    payload: z.object({ order_id: id, user_id: id, courier_id: id, courier_name: nonBlank(200) }),
  }),
  "delivery.done": z.object({
    ...envelope,
    type: z.literal("delivery.done"),
    payload: z.object({ order_id: id, user_id: id, courier_id: id }),
  }),
  "delivery.canceled": z.object({
    ...envelope,
    type: z.literal("delivery.canceled"),
    payload: z.object({ order_id: id, user_id: id, reason: z.string() }),
  }),
} as const;

/**
 * The job's name picks the schema, and the data's `type` must be that name (a job named delivery.done carrying
 * an assignment is refused, not half-understood). Own properties only, so "constructor" finds no schema.
 */
export function parseDeliveryJob(job: Pick<Job, "name" | "data">): DeliveryEvent {
  const schema = Object.hasOwn(schemas, job.name) ? schemas[job.name as keyof typeof schemas] : undefined;
  if (!schema) throw new NoHandlerError(job.name);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new InvalidJobDataError(job.name, z.prettifyError(parsed.error).replace(/\n/g, "; "));
  return parsed.data as DeliveryEvent;
}
