// The contract between the services that emit notification events (through their outbox) and the
// notifications worker: event types and payloads, the queue, its job options, and Redis connection options.
import type { RedisOptions } from "ioredis";

export type BackInStock = { type: "stock.back_in_stock"; payload: { product_id: number; inventory: number } };
export type PriceDropped = {
  type: "price.dropped";
  payload: { product_id: number; product_name: string; old_price_cents: number; new_price_cents: number };
};
/** What a PATCH of a product may change; product.changed names those whose value did change. */
export type ProductField = "product_name" | "price_cents" | "description";
/**
 * Any change of a product (any field, any direction of price), for caches of the catalogue: the BFFs drop their
 * copies when they hear it. Broadcast (BROADCASTS), not queued: every running BFF must hear it, and one that
 * starts later has nothing to drop.
 */
export type ProductChanged = { type: "product.changed"; payload: { product_id: number; changed: ProductField[] } };
/** Every change of a user's cart; `items` is the number of lines after the change (0: empty). */
export type CartChanged = { type: "cart.changed"; payload: { user_id: number; items: number } };

/** A shipping address as the customer gave it at checkout. */
export type ShippingAddress = { name: string; line1: string; city: string; postal_code: string; country: string };
export type OrderLine = { product_id: number; quantity: number; price_cents: number };
/** The orders service's saga: an order was placed (before any step ran). */
export type OrderCreated = {
  type: "order.created";
  payload: { order_id: number; user_id: number; total_cents: number; items: OrderLine[]; shipping_address: ShippingAddress; delivery_date: string | null };
};
/** Its payment was charged. */
export type OrderPaid = { type: "order.paid"; payload: { order_id: number; user_id: number; payment_id: string; amount_cents: number } };
/** Every step succeeded: stock committed, payment taken, cart cleared. */
export type OrderConfirmed = { type: "order.confirmed"; payload: { order_id: number; user_id: number; total_cents: number } };
/** Compensated (refund, release) after a failed step or the customer's cancel; `reason` is for people. */
export type OrderCancelled = { type: "order.cancelled"; payload: { order_id: number; user_id: number; reason: string } };

/** The delivery service: a manager gave the order's delivery to a courier (the order has shipped). */
export type DeliveryAssigned = { type: "delivery.assigned"; payload: { order_id: number; user_id: number; courier_id: number; courier_name: string } };
/** The courier handed it over. */
export type DeliveryDone = { type: "delivery.done"; payload: { order_id: number; user_id: number; courier_id: number } };
/** Cancelled (the order was cancelled before the delivery was done). */
export type DeliveryCanceled = { type: "delivery.canceled"; payload: { order_id: number; user_id: number; reason: string } };

export type OutboxEvent =
  | BackInStock
  | PriceDropped
  | ProductChanged
  | CartChanged
  | OrderCreated
  | OrderPaid
  | OrderConfirmed
  | OrderCancelled
  | DeliveryAssigned
  | DeliveryDone
  | DeliveryCanceled;
export type EventType = OutboxEvent["type"];

/** What a job on the notifications queue carries; the job's id is `event_id`. */
export type EventJobData = OutboxEvent & { event_id: string; occurred_at: string };

/** The delayed job armed by cart.changed; its data names the user and the cart change that armed it. */
export const CART_REMINDER = "cart.reminder";
export type CartReminderJobData = { user_id: number; armed_by: string };
export const cartReminderKey = (userId: number) => `cart-reminder:${userId}`;

export const NOTIFICATIONS_QUEUE = "notifications";
/** The delivery service's queue: the order events that create, activate and cancel deliveries. */
export const DELIVERY_QUEUE = "delivery";
/** The orders service's queue: what delivery did to an order (shipped, delivered). */
export const ORDERS_QUEUE = "orders";

/**
 * Which consuming services' queues hear each event type: the relay adds one job per subscribed queue (jobId =
 * the event id in each), and marks an event nobody subscribes to published without a job. A new consumer is
 * a new queue name here, not a change to the emitters.
 */
export const SUBSCRIPTIONS: Readonly<Record<EventType, readonly string[]>> = {
  "stock.back_in_stock": [NOTIFICATIONS_QUEUE],
  "price.dropped": [NOTIFICATIONS_QUEUE],
  "product.changed": [],
  "cart.changed": [NOTIFICATIONS_QUEUE],
  "order.created": [DELIVERY_QUEUE],
  "order.paid": [DELIVERY_QUEUE],
  "order.confirmed": [NOTIFICATIONS_QUEUE],
  "order.cancelled": [NOTIFICATIONS_QUEUE, DELIVERY_QUEUE],
  "delivery.assigned": [ORDERS_QUEUE, NOTIFICATIONS_QUEUE],
  "delivery.done": [ORDERS_QUEUE, NOTIFICATIONS_QUEUE],
  "delivery.canceled": [ORDERS_QUEUE],
};

/**
 * Event types the relay also PUBLISHes on Redis pub/sub (broadcastChannel), for listeners that come and go
 * (every BFF replica) and would make a queue per instance awkward. Fire and forget by design: a listener that
 * was not connected misses the message, so it must treat a (re)connection as "everything may have changed".
 */
export const BROADCASTS: readonly EventType[] = ["product.changed"];

/** The pub/sub channel of a broadcast event type, under the deployment's Redis namespace (the BullMQ prefix). */
export const broadcastChannel = (prefix: string, type: EventType) => `${prefix}:events:${type}`;

/** Every queue some event type is published to. */
export const subscribedQueues = (subscriptions: Readonly<Record<string, readonly string[]>> = SUBSCRIPTIONS) => [
  ...new Set(Object.values(subscriptions).flat()),
];
/** BullMQ's Redis key prefix; tests give every suite its own. */
export const DEFAULT_QUEUE_PREFIX = "storefront";

export const EVENT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential" as const, delay: 1000 },
  // Completed jobs are kept a day: while a job exists, a second add with the same jobId (the outbox relay
  // re-publishing after a crash) is ignored. removeOnComplete: true would drop that protection.
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  // Failed jobs stay as dead letters until retried or removed by the dead-letters command.
  removeOnFail: false,
};

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** For producers on a request path (outbox relays): fail fast while Redis is down instead of queueing commands. */
export const producerRedisOptions = (url: string): [string, RedisOptions] => [
  url,
  { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 200, 2000) },
];

/** For workers: BullMQ requires maxRetriesPerRequest null on blocking connections; reconnect forever. */
export const workerRedisOptions = (url: string): [string, RedisOptions] => [
  url,
  { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) },
];
