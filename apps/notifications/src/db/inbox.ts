// Query functions for the inbox table; each takes `sql` first. Writes are idempotent per (event, user, channel),
// which is what makes a job safe to run twice.
import type { Sql } from "postgres";

/** What every channel delivers: the same words for each recipient of one event. */
export type Notification = { event_id: string; type: string; title: string; body: string; payload: Record<string, unknown> };

export type InboxItem = {
  id: number;
  type: string;
  title: string;
  body: string;
  payload: unknown;
  created_at: Date;
  read_at: Date | null;
};

// bigint comes back from postgres.js as a string; ids stay far below 2^53, so a JSON number is safe.
const toItem = (row: Omit<InboxItem, "id"> & { id: string }): InboxItem => ({ ...row, id: Number(row.id) });

/** Keyset page of a user's inbox, newest first: ids below `before` (all when null), at most `limit`. */
export async function listInbox(sql: Sql, userId: number, { limit, before }: { limit: number; before: number | null }): Promise<InboxItem[]> {
  const rows = await sql<(Omit<InboxItem, "id"> & { id: string })[]>`
    select id, type, title, body, payload, created_at, read_at
    from inbox
    where user_id = ${userId} and channel = 'inbox' ${before === null ? sql`` : sql`and id < ${before}`}
    order by id desc
    limit ${limit}`;
  return rows.map(toItem);
}

/** Marks one of the user's notifications read (keeping the first read_at); null when it is not theirs or absent. */
export async function markRead(sql: Sql, userId: number, id: number): Promise<InboxItem | null> {
  const [row] = await sql<(Omit<InboxItem, "id"> & { id: string })[]>`
    update inbox set read_at = coalesce(read_at, now())
    where id = ${id} and user_id = ${userId} and channel = 'inbox'
    returning id, type, title, body, payload, created_at, read_at`;
  return row ? toItem(row) : null;
}

/** One inbox row per recipient; recipients who already have it are skipped. */
export async function insertInboxRows(sql: Sql, n: Notification, userIds: number[]): Promise<void> {
  await insertRows(sql, n, userIds, "inbox");
}

/** Of `userIds`, those the webhook already delivered this event to. */
export async function webhookDeliveredTo(sql: Sql, eventId: string, userIds: number[]): Promise<Set<number>> {
  const rows = await sql<{ user_id: number }[]>`
    select user_id from inbox
    where event_id = ${eventId} and channel = 'webhook' and user_id = any(${userIds}::int[])`;
  return new Set(rows.map((r) => r.user_id));
}

export async function recordWebhookDelivery(sql: Sql, n: Notification, userId: number): Promise<void> {
  await insertRows(sql, n, [userId], "webhook");
}

async function insertRows(sql: Sql, n: Notification, userIds: number[], channel: "inbox" | "webhook") {
  if (userIds.length === 0) return;
  await sql`
    insert into inbox (user_id, event_id, channel, type, title, body, payload)
    select u, ${n.event_id}, ${channel}, ${n.type}, ${n.title}, ${n.body}, ${sql.json(n.payload as never)}
    from unnest(${userIds}::int[]) as u
    on conflict (event_id, user_id, channel) do nothing`;
}
