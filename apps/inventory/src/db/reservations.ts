// Stock reservations for orders and the moves between their states; each function takes `sql` first and runs
// one transaction. Lock order everywhere: reservation rows first, then stock rows in product_id order, so two
// transactions never wait on each other in a circle. A move that takes a product's available count from 0 to
// more writes stock.back_in_stock in the same transaction; the caller wakes the relay when `events` > 0.
import type { Sql, TransactionSql } from "postgres";
import { writeEvent } from "@storefront/shared/outbox/write-event";

export type ReservationStatus = "active" | "committed" | "released" | "expired" | "returned";
export type ReservationItem = { product_id: number; quantity: number };
/** `expires_at` is null only for a tombstone (a release that came before any reserve). */
export type Reservation = { order_id: number; status: ReservationStatus; expires_at: Date | null; items: ReservationItem[] };
export type Shortage = { product_id: number; requested: number; available: number };

/** What each move does to the stock of a reservation's products, for a reserved quantity `q`. */
const MOVES = {
  // Sold: the units leave the shelf and the hold on them ends together, so available does not change.
  committed: (q: number) => ({ inventory: -q, reserved: -q }),
  released: (q: number) => ({ inventory: 0, reserved: -q }),
  expired: (q: number) => ({ inventory: 0, reserved: -q }),
  // A confirmed order cancelled before it shipped: the units come back on hand.
  returned: (q: number) => ({ inventory: q, reserved: 0 }),
} as const;
type Move = keyof typeof MOVES;

/** postgres.js reads bigint as a string; order ids go back to the database as text cast to bigint[]. */
const orderIdArray = (tx: TransactionSql, orderIds: readonly (number | string)[]) => tx.array(orderIds.map(String));

type LockedStock = { product_id: number; inventory: number; reserved: number };

/** Locks the stock rows of `productIds` in product_id order (the one order every transaction uses). */
const lockStock = (tx: TransactionSql, productIds: readonly number[]) =>
  tx<LockedStock[]>`
    select product_id, inventory, reserved from stock
    where product_id = any(${tx.array(productIds as number[], 23)})
    order by product_id
    for update`;

type StockDelta = { product_id: number; inventory: number; reserved: number };

/**
 * Locks the rows, adds the deltas, and writes stock.back_in_stock for every product whose available count went
 * from 0 to more (its payload carries the new available count). Returns how many events it wrote.
 */
async function changeStock(tx: TransactionSql, deltas: readonly StockDelta[]): Promise<number> {
  if (deltas.length === 0) return 0;
  const ids = deltas.map((d) => d.product_id);
  const before = new Map((await lockStock(tx, ids)).map((row) => [row.product_id, row.inventory - row.reserved]));
  const after = await tx<{ product_id: number; available: number }[]>`
    update stock s
    set inventory = s.inventory + d.inventory, reserved = s.reserved + d.reserved, updated_at = now()
    from unnest(
      ${tx.array(ids, 23)}::int[],
      ${tx.array(deltas.map((d) => d.inventory), 23)}::int[],
      ${tx.array(deltas.map((d) => d.reserved), 23)}::int[]
    ) as d(product_id, inventory, reserved)
    where s.product_id = d.product_id
    returning s.product_id, s.inventory - s.reserved as available`;
  let events = 0;
  for (const { product_id, available } of after.sort((a, b) => a.product_id - b.product_id)) {
    if (before.get(product_id) === 0 && available > 0) {
      await writeEvent(tx, { type: "stock.back_in_stock", payload: { product_id, inventory: available } });
      events++;
    }
  }
  return events;
}

/** Moves the (already locked) reservations to `to` and their stock with them; returns the events written. */
async function move(tx: TransactionSql, orderIds: readonly (number | string)[], to: Move): Promise<number> {
  const ids = orderIdArray(tx, orderIds);
  // Summed per product: the sweeper moves many reservations at once, and each stock row is locked once, in order.
  const totals = await tx<ReservationItem[]>`
    select product_id, sum(quantity)::int as quantity from reservation_items
    where order_id = any(${ids}::bigint[])
    group by product_id
    order by product_id`;
  const events = await changeStock(
    tx,
    totals.map(({ product_id, quantity }) => ({ product_id, ...MOVES[to](quantity) })),
  );
  await tx`update reservations set status = ${to}, updated_at = now() where order_id = any(${ids}::bigint[])`;
  return events;
}

export async function findReservation(sql: Sql | TransactionSql, orderId: number): Promise<Reservation | null> {
  const [row] = await sql<{ status: ReservationStatus; expires_at: Date | null }[]>`
    select status, expires_at from reservations where order_id = ${orderId}`;
  if (!row) return null;
  const items = await sql<ReservationItem[]>`
    select product_id, quantity from reservation_items where order_id = ${orderId} order by product_id`;
  return { order_id: orderId, status: row.status, expires_at: row.expires_at, items: [...items] };
}

const sameItems = (stored: readonly ReservationItem[], asked: readonly ReservationItem[]) =>
  stored.length === asked.length && asked.every((a) => stored.some((s) => s.product_id === a.product_id && s.quantity === a.quantity));

export type ReserveResult =
  | { outcome: "created"; reservation: Reservation }
  /** The order had a reservation (or a tombstone) already, with the same items: it is answered as it stands. */
  | { outcome: "existing"; reservation: Reservation }
  | { outcome: "other_items"; reservation: Reservation }
  | { outcome: "short"; products: Shortage[] };

/** Thrown inside the transaction so that it rolls back, caught outside it. */
class OutOfStock extends Error {
  constructor(readonly products: Shortage[]) {
    super("out of stock");
  }
}

/**
 * Reserves every item or none. The reservation row is inserted first: a second reserve for the same order waits
 * on that insert, and then reads what the first one left instead of taking stock again.
 */
export async function reserve(sql: Sql, orderId: number, items: readonly ReservationItem[], ttlMs: number): Promise<ReserveResult> {
  try {
    return await sql.begin(async (tx): Promise<ReserveResult> => {
      const [created] = await tx<{ expires_at: Date }[]>`
        insert into reservations (order_id, status, expires_at)
        values (${orderId}, 'active', now() + ${ttlMs} * interval '1 millisecond')
        on conflict (order_id) do nothing
        returning expires_at`;
      if (!created) {
        const reservation = (await findReservation(tx, orderId))!;
        // A tombstone answers any items: the order was released before this reserve arrived.
        const tombstone = reservation.items.length === 0;
        return { outcome: tombstone || sameItems(reservation.items, items) ? "existing" : "other_items", reservation };
      }
      const sorted = [...items].sort((a, b) => a.product_id - b.product_id);
      const locked = new Map((await lockStock(tx, sorted.map((i) => i.product_id))).map((row) => [row.product_id, row]));
      const short = items.flatMap(({ product_id, quantity }) => {
        const row = locked.get(product_id);
        // No stock row: the product is unknown here, so nothing of it is available.
        const available = row ? row.inventory - row.reserved : 0;
        return quantity > available ? [{ product_id, requested: quantity, available }] : [];
      });
      if (short.length > 0) throw new OutOfStock(short);
      await changeStock(tx, sorted.map(({ product_id, quantity }) => ({ product_id, inventory: 0, reserved: quantity })));
      await tx`
        insert into reservation_items (order_id, product_id, quantity)
        select ${orderId}, product_id, quantity
        from unnest(${tx.array(sorted.map((i) => i.product_id), 23)}::int[], ${tx.array(sorted.map((i) => i.quantity), 23)}::int[])
          as i(product_id, quantity)`;
      return { outcome: "created", reservation: { order_id: orderId, status: "active", expires_at: created.expires_at, items: sorted } };
    });
  } catch (err) {
    if (err instanceof OutOfStock) return { outcome: "short", products: err.products };
    throw err;
  }
}

export type CommitResult =
  | { outcome: "not_found" }
  | { outcome: "committed" }
  /** Not committed: the reservation had ended (or was found past its expiry and expired just now). */
  | { outcome: "ended"; status: ReservationStatus; events: number };

export async function commitReservation(sql: Sql, orderId: number): Promise<CommitResult> {
  return sql.begin(async (tx): Promise<CommitResult> => {
    const [row] = await tx<{ status: ReservationStatus; past: boolean }[]>`
      select status, expires_at <= now() as past from reservations where order_id = ${orderId} for update`;
    if (!row) return { outcome: "not_found" };
    if (row.status === "committed") return { outcome: "committed" };
    if (row.status !== "active") return { outcome: "ended", status: row.status, events: 0 };
    // Past its expiry but not swept yet: expire it here, so the sweeper and this commit cannot both act on it.
    if (row.past) return { outcome: "ended", status: "expired", events: await move(tx, [orderId], "expired") };
    await move(tx, [orderId], "committed");
    return { outcome: "committed" };
  });
}

/**
 * active -> released, committed -> returned, an ended one stays as it is. An unknown order gets a tombstone
 * (released, no items): the saga may release an order whose reserve never arrived, and that reserve, arriving
 * late, must find the tombstone instead of taking stock.
 */
export async function releaseReservation(sql: Sql, orderId: number): Promise<{ status: ReservationStatus; events: number }> {
  return sql.begin(async (tx) => {
    const [tombstone] = await tx`
      insert into reservations (order_id, status, expires_at) values (${orderId}, 'released', null)
      on conflict (order_id) do nothing
      returning order_id`;
    if (tombstone) return { status: "released" as const, events: 0 };
    const [row] = await tx<{ status: ReservationStatus }[]>`
      select status from reservations where order_id = ${orderId} for update`;
    const { status } = row!;
    if (status === "active") return { status: "released" as const, events: await move(tx, [orderId], "released") };
    if (status === "committed") return { status: "returned" as const, events: await move(tx, [orderId], "returned") };
    return { status, events: 0 };
  });
}

/**
 * Expires up to `limit` active reservations past their expiry and gives their units back. SKIP LOCKED: two
 * sweepers (two instances of the service) take different reservations, and one a commit or release holds is
 * left to that request; the status check is made again on the locked row, so none is expired twice.
 */
export async function expireDue(sql: Sql, limit: number): Promise<{ expired: number; events: number }> {
  return sql.begin(async (tx) => {
    const due = await tx<{ order_id: string }[]>`
      select order_id from reservations
      where status = 'active' and expires_at <= now()
      order by expires_at
      limit ${limit}
      for update skip locked`;
    if (due.length === 0) return { expired: 0, events: 0 };
    const events = await move(tx, due.map((r) => r.order_id), "expired");
    return { expired: due.length, events };
  });
}
