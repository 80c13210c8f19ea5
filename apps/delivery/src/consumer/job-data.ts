// Checks a job on the delivery queue against the events' contract (shared/src/notifications/event-schemas.ts)
// before anything is done with it: bad data or a name with no handler here is a dead letter at once.
import type { Job } from "bullmq";
import { parseEventJob, type HandledEvent } from "@storefront/shared/notifications/event-schemas";

export { InvalidJobDataError, NoHandlerError } from "@storefront/shared/notifications/event-schemas";

/** The order events that create, activate and cancel deliveries. */
export const HANDLED = ["order.created", "order.paid", "order.cancelled"] as const;
export type OrderEvent = HandledEvent<(typeof HANDLED)[number]>;

export const parseJob = (job: Pick<Job, "name" | "data">): OrderEvent => parseEventJob(job, HANDLED);
