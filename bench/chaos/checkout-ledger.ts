// The chaos run's checkout accounting, read from each service's own database after the load (psql): every order
// ended, each charged at most once, a cancelled order's charge refunded, the checkout products' stock adding up,
// reservations committed for exactly the confirmed orders, and a delivery for each confirmed order. Each broken
// rule is a violation naming the orders concerned.
import { psql } from "../databases.ts";

export type LedgerUrls = { orders: string; payments: string; inventory: string; delivery: string };

/** What a terminal order is: its saga done, in one of the statuses nothing moves on from without a courier. */
const TERMINAL = ["confirmed", "cancelled", "shipped", "delivered"];
/** Statuses of an order whose customer keeps what was bought (and paid for). */
const KEPT = new Set(["confirmed", "shipped", "delivered"]);

export type CheckoutLedger = {
  orders: number;
  byStatus: [string, number][];
  notTerminal: number[];
  /** Orders with a succeeded charge at the provider, and those of them refunded. */
  charged: number;
  refunded: number;
  /** Per checkout product: on hand before the load, units committed to orders, on hand and reserved now. */
  stock: { product: number; before: number; committed: number; now: number; reserved: number }[];
  deliveries: [string, number][];
  violations: string[];
};

async function rows<T>(url: string, query: string): Promise<T[]> {
  return JSON.parse((await psql(url, `select coalesce(json_agg(t), '[]'::json) from (${query}) t`)) || "[]") as T[];
}

/** On hand per product now (stock.inventory is on hand; reserved is its share promised to active reservations). */
export async function stockOf(inventoryUrl: string, products: number[]): Promise<Map<number, { inventory: number; reserved: number }>> {
  const found = await rows<{ product_id: number; inventory: number; reserved: number }>(
    inventoryUrl,
    `select product_id, inventory, reserved from stock where product_id in (${products.map(Number).join(", ")})`,
  );
  return new Map(found.map((r) => [r.product_id, { inventory: r.inventory, reserved: r.reserved }]));
}

/** Waits, at most `timeoutMs`, until no order is still going; returns those that are and how long it took. */
export async function waitForOrders(ordersUrl: string, timeoutMs: number): Promise<{ open: number[]; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const open = (await rows<{ order_id: number }>(ordersUrl, `select order_id from orders where step <> 'done' or status not in ('${TERMINAL.join("', '")}') order by order_id`)).map((r) => r.order_id);
    const waitedMs = performance.now() - started;
    if (open.length === 0 || waitedMs > timeoutMs) return { open, waitedMs };
    await Bun.sleep(500);
  }
}

const few = (ids: number[]) => (ids.length > 10 ? `${ids.slice(0, 10).join(", ")} and ${ids.length - 10} more` : ids.join(", "));

/** A checkout as its client saw it: the key it sent and the order its answer named (null: none named). */
export type ClientCheckout = { customer: number; key: string; orderId: number | null };

export async function readLedger(urls: LedgerUrls, stockBefore: Map<number, number>, clients: ClientCheckout[]): Promise<CheckoutLedger> {
  const products = [...stockBefore.keys()];
  const [orders, items, charges, reservations, stockNow, deliveries, keys] = await Promise.all([
    rows<{ order_id: number; status: string; step: string; total_cents: number }>(urls.orders, "select order_id, status, step, total_cents::int from orders"),
    rows<{ order_id: number; product_id: number; quantity: number }>(urls.orders, "select order_id, product_id, quantity from order_items"),
    // The provider's ledger is what left the card; payments' own row says whether it was refunded.
    rows<{ order_id: number; payment_status: string; amount_cents: number; refunded: boolean }>(
      urls.payments,
      `select p.order_id, p.status as payment_status, pc.amount_cents, pc.refunded_at is not null as refunded
       from payments p join provider_charges pc on pc.payment_id = p.id where pc.outcome = 'succeeded'`,
    ),
    rows<{ order_id: number; status: string; product_id: number; quantity: number }>(
      urls.inventory,
      "select r.order_id, r.status, i.product_id, i.quantity from reservations r join reservation_items i using (order_id)",
    ),
    stockOf(urls.inventory, products),
    rows<{ order_id: number; status: string }>(urls.delivery, "select order_id, status from deliveries"),
    rows<{ user_id: number; key: string; order_id: number | null }>(urls.orders, "select user_id, key, order_id from idempotency_keys"),
  ]);
  const violations: string[] = [];
  const status = new Map(orders.map((o) => [o.order_id, o.status]));

  const notTerminal = orders.filter((o) => o.step !== "done" || !TERMINAL.includes(o.status)).map((o) => o.order_id);
  if (notTerminal.length) violations.push(`orders not ended: ${few(notTerminal)}`);

  const chargesOf = Map.groupBy(charges, (c) => c.order_id);
  const twice = [...chargesOf].filter(([, cs]) => cs.length > 1).map(([id]) => id);
  if (twice.length) violations.push(`orders charged more than once: ${few(twice)}`);
  const keptWithout = orders
    .filter((o) => KEPT.has(o.status))
    .filter((o) => {
      const cs = chargesOf.get(o.order_id) ?? [];
      return cs.length !== 1 || cs[0]!.refunded || cs[0]!.amount_cents !== o.total_cents;
    })
    .map((o) => o.order_id);
  if (keptWithout.length) violations.push(`confirmed orders without exactly one charge of their total, not refunded: ${few(keptWithout)}`);
  const notRefunded = orders
    .filter((o) => o.status === "cancelled" && (chargesOf.get(o.order_id) ?? []).some((c) => !c.refunded || c.payment_status !== "refunded"))
    .map((o) => o.order_id);
  if (notRefunded.length) violations.push(`cancelled orders charged and not refunded: ${few(notRefunded)}`);
  const strangers = [...chargesOf.keys()].filter((id) => !status.has(id));
  if (strangers.length) violations.push(`charges for orders that orders does not know: ${few(strangers)}`);

  // Reservations committed for exactly the kept orders, with exactly their lines.
  const line = (order: number, product: number, quantity: number) => `${order}:${product}x${quantity}`;
  const committed = reservations.filter((r) => r.status === "committed");
  const committedLines = new Set(committed.map((r) => line(r.order_id, r.product_id, r.quantity)));
  const keptLines = new Set(items.filter((i) => KEPT.has(status.get(i.order_id) ?? "")).map((i) => line(i.order_id, i.product_id, i.quantity)));
  const unmatched = [...new Set([...committedLines].filter((l) => !keptLines.has(l)).concat([...keptLines].filter((l) => !committedLines.has(l))).map((l) => Number(l.split(":")[0])))];
  if (unmatched.length) violations.push(`orders whose committed reservation differs from their being confirmed: ${few(unmatched)}`);

  const stock = products.map((product) => {
    const before = stockBefore.get(product)!;
    const units = committed.filter((r) => r.product_id === product).reduce((n, r) => n + r.quantity, 0);
    const now = stockNow.get(product) ?? { inventory: -1, reserved: -1 };
    if (before - units !== now.inventory) violations.push(`product ${product}: ${before} on hand before, ${units} committed, but ${now.inventory} on hand now`);
    if (now.reserved !== 0) violations.push(`product ${product}: ${now.reserved} units still reserved with every order ended`);
    return { product, before, committed: units, now: now.inventory, reserved: now.reserved };
  });

  // One order per Idempotency-Key, and the one the client was told about.
  const orderOfKey = new Map(keys.map((k) => [`${k.user_id}/${k.key}`, k.order_id]));
  const misnamed = clients.filter((c) => c.orderId !== null && orderOfKey.get(`${c.customer}/${c.key}`) !== c.orderId).map((c) => c.orderId!);
  if (misnamed.length) violations.push(`answers naming another order than their key's: ${few(misnamed)}`);
  const keyed = new Set(keys.map((k) => k.order_id));
  const unkeyed = orders.filter((o) => !keyed.has(o.order_id)).map((o) => o.order_id);
  if (unkeyed.length) violations.push(`orders no Idempotency-Key leads to: ${few(unkeyed)}`);

  const deliveryOf = new Map(deliveries.map((d) => [d.order_id, d.status]));
  const undelivered = orders.filter((o) => KEPT.has(o.status) && !["activated", "done"].includes(deliveryOf.get(o.order_id) ?? "")).map((o) => o.order_id);
  if (undelivered.length) violations.push(`confirmed orders without an activated delivery: ${few(undelivered)}`);
  const stillShipping = orders.filter((o) => o.status === "cancelled" && ![undefined, "canceled"].includes(deliveryOf.get(o.order_id))).map((o) => o.order_id);
  if (stillShipping.length) violations.push(`cancelled orders whose delivery is not canceled: ${few(stillShipping)}`);

  const count = (values: string[]) => [...Map.groupBy(values, (v) => v)].map(([k, vs]) => [k, vs.length] as [string, number]).sort((a, b) => b[1] - a[1]);
  return {
    orders: orders.length,
    byStatus: count(orders.map((o) => o.status)),
    notTerminal,
    charged: chargesOf.size,
    refunded: [...chargesOf.values()].filter((cs) => cs.some((c) => c.refunded)).length,
    stock,
    deliveries: count(deliveries.map((d) => d.status)),
    violations,
  };
}
