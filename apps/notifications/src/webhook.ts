// Delivers one notification to the configured webhook: a JSON POST signed with HMAC-SHA256 of the exact raw
// body, through the shared upstream client (its own deadline and circuit breaker). 2xx is delivered; a 3xx or
// a 4xx other than 408/429 is the receiver refusing this payload for good (UnrecoverableError); 5xx, 408,
// 429, network errors and timeouts are worth another attempt.
import { createHmac } from "node:crypto";
import { UnrecoverableError } from "bullmq";
import type { BreakerOptions, CircuitBreaker } from "@storefront/shared/circuit-breaker";
import { createUpstreamClient, type FetchFn } from "@storefront/shared/upstream/client";
import { isCallersFault, UpstreamStatusError } from "@storefront/shared/upstream/errors";

export type WebhookMessage = {
  event_id: string;
  type: string;
  user_id: number;
  title: string;
  body: string;
  payload: Record<string, unknown>;
};

export const SIGNATURE_HEADER = "x-storefront-signature";
export const EVENT_ID_HEADER = "x-storefront-event-id";

/** `sha256=<hex>` over the exact bytes sent; receivers recompute it over the raw body before parsing. */
export const signBody = (secret: string, rawBody: string) => `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;

export class WebhookRejectedError extends UnrecoverableError {
  constructor(readonly status: number) {
    super(`webhook refused the delivery with ${status}`);
  }
}

export type WebhookSender = {
  readonly breaker: CircuitBreaker;
  send(message: WebhookMessage, signal?: AbortSignal): Promise<void>;
};

export type WebhookOptions = {
  url: string;
  secret: string;
  deadlineMs: number;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  fetch?: FetchFn;
};

export function createWebhookSender(options: WebhookOptions): WebhookSender {
  const { url, secret, deadlineMs } = options;
  if (!secret) throw new Error("a webhook needs a secret to sign its deliveries");
  // BullMQ's backoff is the retry: one attempt per job attempt.
  const client = createUpstreamClient("webhook", url, { fetch: options.fetch, breaker: options.breaker, retry: null });

  return {
    breaker: client.breaker,
    async send(message, signal) {
      const raw = JSON.stringify(message);
      const headers = { [EVENT_ID_HEADER]: message.event_id, [SIGNATURE_HEADER]: signBody(secret, raw), "content-type": "application/json" };
      let status: number;
      try {
        ({ status } = await client.send("POST", "", { deadline: deadlineMs, signal, body: raw, headers, response: "ignore" }));
      } catch (err) {
        // A redirect would turn the POST into a GET elsewhere: a wrong URL, as final as a refusal.
        if (err instanceof UpstreamStatusError && err.status < 400) throw new WebhookRejectedError(err.status);
        throw err;
      }
      if (status < 300) return;
      if (isCallersFault(status)) throw new WebhookRejectedError(status);
      throw new UpstreamStatusError("webhook", status, null);
    },
  };
}
