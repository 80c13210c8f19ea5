// Hands one notification to its recipients on every channel: an inbox row each, then (when a webhook is
// configured) a signed POST for each recipient the webhook has not acknowledged yet. Both steps skip what
// an earlier attempt already did, so a retried or re-run job never duplicates a row or re-sends a delivery.
import { UnrecoverableError } from "bullmq";
import { abortError } from "@storefront/shared/abort";
import { insertInboxRows, recordWebhookDelivery, webhookDeliveredTo, type Notification } from "../db/inbox.ts";
import type { ProcessorContext } from "./context.ts";

/** Webhook POSTs in flight at once for one job; the job's other recipients wait their turn. */
export const WEBHOOK_PARALLEL = 8;

export async function deliver(ctx: ProcessorContext, n: Notification, userIds: number[], signal?: AbortSignal): Promise<void> {
  if (userIds.length === 0) return;
  await insertInboxRows(ctx.sql, n, userIds);
  const { webhook } = ctx;
  if (!webhook) return;
  const done = await webhookDeliveredTo(ctx.sql, n.event_id, userIds);
  const pending = userIds.filter((userId) => !done.has(userId));
  for (let i = 0; i < pending.length; i += WEBHOOK_PARALLEL) {
    if (signal?.aborted) throw abortError(signal);
    const results = await Promise.allSettled(
      pending.slice(i, i + WEBHOOK_PARALLEL).map(async (userId) => {
        await webhook.send({ event_id: n.event_id, type: n.type, user_id: userId, title: n.title, body: n.body, payload: n.payload }, signal);
        // Recorded only once the receiver said 2xx: a crash in between means one more delivery, never none.
        await recordWebhookDelivery(ctx.sql, n, userId);
      }),
    );
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    // A refusal is final for the whole job; otherwise the first error makes BullMQ retry it later.
    if (errors.length) throw errors.find((e) => e instanceof UnrecoverableError) ?? errors[0];
  }
}
