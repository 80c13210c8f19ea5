// The BFF's answers as the pages read them (apps/bff/src/routes/*.ts documents them), checked with zod before a
// view sees them. Lenient where the web app can cope: extra fields pass, and price_cents may be missing (an
// older BFF's listing has none). A body of another shape is the BFF failing, not a page to render half.
import { z } from "zod";
import { BffUnavailableError, type BffReply } from "./bff.ts";

const id = z.number().int().positive();
const count = z.number().int().min(0);

export const ListedProduct = z.object({
  product_id: id,
  product_name: z.string(),
  price_cents: count.nullable().optional(),
  inventory: count.nullable(),
});
export type ListedProduct = z.infer<typeof ListedProduct>;

export const Listing = z.object({
  products: z.array(ListedProduct),
  degraded: z.array(z.string()).default([]),
  cart_items: count.nullable().optional(),
  favorite_items: count.nullable().optional(),
  next_after: id.nullable().optional(),
  stale: z.boolean().optional(),
});
export type Listing = z.infer<typeof Listing>;

export const CartLines = z.array(z.object({ product_id: id, quantity: z.number().int().positive() }));
export type CartLine = z.infer<typeof CartLines>[number];

export const Favorites = z.array(z.object({ product_id: id }));

export const InboxItem = z.object({
  id,
  type: z.string(),
  title: z.string(),
  body: z.string(),
  created_at: z.string(),
  read_at: z.string().nullable(),
});
export type InboxItem = z.infer<typeof InboxItem>;
export const Inbox = z.array(InboxItem);

export const OrderSummary = z.object({ order_id: id, status: z.string(), total_cents: count, item_count: count, created_at: z.string() });
export type OrderSummary = z.infer<typeof OrderSummary>;
export const OrderPage = z.object({ orders: z.array(OrderSummary), next_after: id.nullable() });

export const ShippingAddress = z.object({ name: z.string(), line1: z.string(), city: z.string(), postal_code: z.string(), country: z.string() });
export const OrderItem = z.object({ product_id: id, quantity: z.number().int().positive(), price_cents: count });
export type OrderItem = z.infer<typeof OrderItem>;
export const Order = z.object({
  order_id: id,
  status: z.string(),
  total_cents: count,
  items: z.array(OrderItem),
  shipping_address: ShippingAddress,
  delivery_date: z.string().nullable(),
  cancel_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  history: z.array(z.object({ step: z.string(), outcome: z.string(), at: z.string(), detail: z.string().nullable() })),
  delivery: z.object({ status: z.string(), courier_name: z.string().nullable(), updated_at: z.string() }).nullable(),
});
export type Order = z.infer<typeof Order>;

/** POST /checkout's 201 and 202 (the 202 has only the id and status). */
export const PlacedOrder = z.object({ order_id: id, status: z.string() });

export const OutOfStock = z.array(z.object({ product_id: id, requested: count, available: count }));

export const TokenPair = z.object({ access_token: z.string().min(1), refresh_token: z.string().min(1), expires_in: z.number().positive() });
export type TokenPair = z.infer<typeof TokenPair>;

/** The reply's body as `schema`, or a BffUnavailableError naming what was wrong (logged by the error page). */
export function bodyAs<T>(reply: BffReply, schema: z.ZodType<T>, what: string): T {
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) throw new BffUnavailableError("invalid_response", reply.status, null, { cause: new Error(`${what}: ${parsed.error.message}`) });
  return parsed.data;
}
