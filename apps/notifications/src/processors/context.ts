// What every processor works with: the database, the upstream clients, the optional webhook and the queue
// (for the delayed cart reminders), built once by createNotificationsWorker.
import type { Queue } from "bullmq";
import type { Sql } from "postgres";
import type { CartClient } from "../clients/cart.ts";
import type { FavoritesClient } from "../clients/favorites.ts";
import type { WebhookSender } from "../webhook.ts";

export type ProcessorContext = {
  sql: Sql;
  favorites: FavoritesClient;
  cart: CartClient;
  webhook: WebhookSender | undefined;
  queue: Queue;
  reminderDelayMs: number;
  favoritesPageSize: number;
};
