// cart.changed (re)arms or cancels the user's delayed reminder; cart.reminder, when it fires, reminds the user
// only if the cart still has something in it (asked of the cart service then, not remembered from the event).
import type { Job, Queue } from "bullmq";
import { CART_REMINDER, cartReminderKey, EVENT_JOB_OPTIONS, type CartChanged } from "@storefront/shared/notifications/events";
import type { Envelope, ReminderData } from "../job-data.ts";
import { cartReminderContent } from "../notification-content.ts";
import type { ProcessorContext } from "./context.ts";
import { deliver } from "./deliver.ts";

export type CartChangedResult = { reminder: "armed" | "cancelled" | "none" | "superseded" };
export type CartReminderResult = { reminded: boolean };

/** One reminder job per arming change; BullMQ job ids may not contain ':'. */
export const reminderJobId = (userId: number, armedBy: string) => `cart-reminder-${userId}-${armedBy.replaceAll(":", "_")}`;

/** The inbox event_id of a reminder: one reminder per arming change. */
export const reminderEventId = (userId: number, armedBy: string) => `${CART_REMINDER}:${userId}:${armedBy}`;

const { attempts, backoff, removeOnComplete, removeOnFail } = EVENT_JOB_OPTIONS;

export async function processCartChanged(ctx: ProcessorContext, event: CartChanged & Envelope): Promise<CartChangedResult> {
  const { user_id, items } = event.payload;
  const pending = await pendingReminder(ctx.queue, user_id);
  // Jobs run concurrently, so a user's changes can be handled out of order: a change older than the one
  // that armed the pending reminder has nothing left to say. (At fire time the cart is asked anyway.)
  const armedAt = pending?.data.armed_at;
  if (armedAt !== undefined && Date.parse(armedAt) > Date.parse(event.occurred_at)) return { reminder: "superseded" };

  if (items === 0) {
    if (!pending) return { reminder: "none" };
    // Removing it also drops the deduplication key, since that key points at this job. A reminder that
    // started firing meanwhile is locked and stays; it will find the cart empty.
    await pending.remove().catch(() => {});
    return { reminder: "cancelled" };
  }

  const data: ReminderData = { user_id, armed_by: event.event_id, armed_at: event.occurred_at };
  // Debounce: while a reminder is still delayed, this one replaces it and the delay starts again, so a burst
  // of changes gives one reminder, reminderDelayMs after the last of them.
  await ctx.queue.add(CART_REMINDER, data, {
    jobId: reminderJobId(user_id, event.event_id),
    delay: ctx.reminderDelayMs,
    deduplication: { id: cartReminderKey(user_id), ttl: ctx.reminderDelayMs, extend: true, replace: true },
    attempts,
    backoff,
    removeOnComplete,
    removeOnFail,
  });
  return { reminder: "armed" };
}

/** The user's reminder that is still waiting to fire, if any. */
async function pendingReminder(queue: Queue, userId: number): Promise<Job<ReminderData> | undefined> {
  const key = cartReminderKey(userId);
  const jobId = await queue.getDeduplicationJobId(key);
  if (!jobId) return undefined;
  const job = (await queue.getJob(jobId)) as Job<ReminderData> | undefined;
  if (!job) {
    // The key outlived its job (removed by hand): it would make BullMQ drop the next arming as a duplicate.
    await queue.removeDeduplicationKey(key);
    return undefined;
  }
  if (await job.isDelayed()) return job;
  // Already firing or fired: it no longer stands for the cart's future. Free the key (only if it still points
  // at this job) so the next change arms a reminder of its own instead of being dropped as a duplicate.
  await job.removeDeduplicationKey();
  return undefined;
}

export async function processCartReminder(ctx: ProcessorContext, data: ReminderData, signal?: AbortSignal): Promise<CartReminderResult> {
  const lines = await ctx.cart.cartLines(data.user_id, signal);
  if (lines === 0) return { reminded: false };
  const notification = {
    event_id: reminderEventId(data.user_id, data.armed_by),
    type: CART_REMINDER,
    ...cartReminderContent(lines),
    payload: { user_id: data.user_id, items: lines, armed_by: data.armed_by },
  };
  await deliver(ctx, notification, [data.user_id], signal);
  return { reminded: true };
}
