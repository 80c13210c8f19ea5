// Delivers one notification to the configured webhook: a JSON POST signed with HMAC-SHA256 of the exact raw
// body, under its own deadline and circuit breaker. 2xx is delivered; a 4xx (or 3xx) is the receiver refusing
// this payload for good (UnrecoverableError); 5xx, network errors and timeouts are worth another attempt.
import { createHmac } from "node:crypto";
import { UnrecoverableError } from "bullmq";
import { createCircuitBreaker, type BreakerOptions, type CircuitBreaker, type Outcome } from "@storefront/shared/circuit-breaker";
import { withDeadline } from "@storefront/shared/deadline";
import { abortable, type FetchFn } from "./clients/upstream.ts";

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

export class WebhookFailedError extends Error {
  constructor(readonly status: number) {
    super(`webhook answered ${status}`);
    this.name = "WebhookFailedError";
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

const globalFetch: FetchFn = (input, init) => fetch(input, init);
const isWebhookFailure = (outcome: Outcome) => !outcome.ok && !(outcome.error instanceof WebhookRejectedError);

export function createWebhookSender(options: WebhookOptions): WebhookSender {
  const { url, secret, deadlineMs } = options;
  if (!secret) throw new Error("a webhook needs a secret to sign its deliveries");
  const fetchFn = options.fetch ?? globalFetch;
  const breaker = createCircuitBreaker({ ...options.breaker, name: "webhook", isFailure: isWebhookFailure });

  const post = async (message: WebhookMessage, signal: AbortSignal) => {
    const raw = JSON.stringify(message);
    const res = await fetchFn(url, {
      method: "POST",
      headers: { "content-type": "application/json", [EVENT_ID_HEADER]: message.event_id, [SIGNATURE_HEADER]: signBody(secret, raw) },
      body: raw,
      // A redirect would turn the POST into a GET elsewhere: a wrong URL, reported as a refusal below.
      redirect: "manual",
      signal,
    });
    // Read the answer inside the deadline so the connection is free for the next delivery.
    await res.arrayBuffer();
    if (res.ok) return;
    if (res.status < 500 && res.status !== 408 && res.status !== 429) throw new WebhookRejectedError(res.status);
    throw new WebhookFailedError(res.status);
  };

  return {
    breaker,
    send(message, jobSignal) {
      return withDeadline(deadlineMs, (deadlineSignal) => {
        const signal = jobSignal ? AbortSignal.any([deadlineSignal, jobSignal]) : deadlineSignal;
        return abortable(breaker.run(() => post(message, signal), signal), jobSignal);
      });
    },
  };
}
