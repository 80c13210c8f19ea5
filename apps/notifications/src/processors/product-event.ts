// stock.back_in_stock and price.dropped: tell everyone who favorited the product, one favorites page at a time.
import type { BackInStock, PriceDropped } from "@storefront/shared/notifications/events";
import type { Envelope } from "../job-data.ts";
import { backInStockContent, priceDroppedContent } from "../notification-content.ts";
import type { ProcessorContext } from "./context.ts";
import { deliver } from "./deliver.ts";

export type ProductEventResult = { recipients: number };

export async function processProductEvent(
  ctx: ProcessorContext,
  event: (BackInStock | PriceDropped) & Envelope,
  signal?: AbortSignal,
): Promise<ProductEventResult> {
  const content = event.type === "stock.back_in_stock" ? backInStockContent(event.payload) : priceDroppedContent(event.payload);
  const notification = { event_id: event.event_id, type: event.type, ...content, payload: event.payload };
  let after = 0;
  let recipients = 0;
  for (;;) {
    const page = await ctx.favorites.favoritedBy(event.payload.product_id, after, ctx.favoritesPageSize, signal);
    if (page.length === 0) break;
    await deliver(ctx, notification, page, signal);
    recipients += page.length;
    if (page.length < ctx.favoritesPageSize) break;
    after = page.at(-1)!;
  }
  return { recipients };
}
