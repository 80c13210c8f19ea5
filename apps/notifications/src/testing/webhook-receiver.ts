// A webhook receiver for tests, as a real one should be written: it verifies the HMAC over the raw body
// (before parsing) and the event-id header, and records every delivery with the status it answered.
import { createHmac, timingSafeEqual } from "node:crypto";

export type Delivery = {
  status: number;
  signatureValid: boolean;
  eventIdHeader: string | null;
  contentType: string | null;
  body: { event_id: string; type: string; user_id: number; title: string; body: string; payload: Record<string, unknown> };
};

export type WebhookReceiver = {
  url: string;
  deliveries: Delivery[];
  /** The deliveries it accepted (2xx) with a valid signature. */
  accepted(): Delivery[];
  stop(): Promise<void>;
};

/** `answer(n)` is the status for the n-th request (1-based); default 200. */
export function startWebhookReceiver(secret: string, answer: (n: number) => number = () => 200): WebhookReceiver {
  const deliveries: Delivery[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const raw = Buffer.from(await req.arrayBuffer());
      const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
      const given = Buffer.from(req.headers.get("x-storefront-signature") ?? "");
      const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
      const body = JSON.parse(raw.toString("utf8")) as Delivery["body"];
      const status = signatureValid && req.headers.get("x-storefront-event-id") === body.event_id ? answer(deliveries.length + 1) : 401;
      deliveries.push({ status, signatureValid, eventIdHeader: req.headers.get("x-storefront-event-id"), contentType: req.headers.get("content-type"), body });
      return new Response(status < 300 ? "ok" : "no", { status });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hooks/storefront`,
    deliveries,
    accepted: () => deliveries.filter((d) => d.status < 300 && d.signatureValid),
    stop: () => server.stop(true),
  };
}
