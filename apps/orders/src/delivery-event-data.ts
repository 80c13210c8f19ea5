// Checks a job on the orders queue against the events' contract (shared/src/notifications/event-schemas.ts)
// before anything is done with it: bad data or a name with no handler here is a dead letter at once.
import type { Job } from "bullmq";
import { parseEventJob } from "@storefront/shared/notifications/event-schemas";
import type { DeliveryEvent } from "./db/delivery.ts";

export { InvalidJobDataError, NoHandlerError } from "@storefront/shared/notifications/event-schemas";

/** What delivery tells orders; any other name on the queue is subscribed by mistake. */
export const HANDLED = ["delivery.assigned", "delivery.done", "delivery.canceled"] as const;

export const parseDeliveryJob = (job: Pick<Job, "name" | "data">): DeliveryEvent => parseEventJob(job, HANDLED);
