// The BFF's answers for the admin's, the courier's and the status pages (apps/bff/src/routes/admin*.ts,
// courier.ts, deliveries.ts; /admin/status as its brief describes it), checked with zod before a view sees
// them. Lenient like shapes.ts: extra fields pass; the status's parts may each be null (that part failed).
import { z } from "zod";

const id = z.number().int().positive();
const count = z.number().int().min(0);

/** The admin's GET/PUT /admin/products/:id/inventory: available (inventory), on hand and reserved. */
export const Stock = z.object({ product_id: id, inventory: count, on_hand: count, reserved: count });
export type Stock = z.infer<typeof Stock>;

export const Courier = z.object({ courier_id: id, name: z.string() });
export type Courier = z.infer<typeof Courier>;
export const Couriers = z.array(Courier);

export const DELIVERY_STATUSES = ["created", "activated", "done", "canceled"] as const;

export const Delivery = z.object({
  order_id: id,
  status: z.string(),
  shipping_address: z.object({ name: z.string(), line1: z.string(), city: z.string(), postal_code: z.string(), country: z.string() }),
  delivery_date: z.string().nullable(),
  courier: Courier.nullable(),
  updated_at: z.string(),
});
export type Delivery = z.infer<typeof Delivery>;
export const DeliveryPage = z.object({ deliveries: z.array(Delivery), next_after: id.nullable() });

const latency = z.object({ p50: z.number().min(0).nullable(), p99: z.number().min(0).nullable(), count }).nullable();

export const UpstreamStatus = z.object({
  name: z.string(),
  state: z.string(),
  calls: count.nullable().optional(),
  failures: count.nullable().optional(),
  slow: count.nullable().optional(),
  half_open_in_ms: z.number().min(0).nullable().optional(),
  latency_ms: latency.optional(),
  replicas: z
    .array(z.object({ url: z.string(), state: z.string(), outstanding: count.nullable().optional(), ejected_for_ms: z.number().min(0).nullable().optional() }))
    .nullable()
    .optional(),
});
export type UpstreamStatus = z.infer<typeof UpstreamStatus>;

export const QueueStatus = z.object({ name: z.string(), waiting: count.nullable(), active: count.nullable(), delayed: count.nullable(), failed: count.nullable() });
export type QueueStatus = z.infer<typeof QueueStatus>;

export const OutboxStatus = z.object({ service: z.string(), pending: count.nullable() });
export type OutboxStatus = z.infer<typeof OutboxStatus>;

/** GET /admin/status: each part null (or left out) when the BFF could not read it. */
export const SystemStatus = z.object({
  upstreams: z.array(UpstreamStatus).nullable().default(null),
  queues: z.array(QueueStatus).nullable().default(null),
  outboxes: z.array(OutboxStatus).nullable().default(null),
  redis: z.enum(["up", "down"]).nullable().default(null),
  generated_at: z.string().nullable().default(null),
});
export type SystemStatus = z.infer<typeof SystemStatus>;
