// The words a user reads for each kind of event: title and body, the same in the inbox and the webhook.
import type { BackInStock, DeliveryAssigned, DeliveryDone, OrderCancelled, OrderConfirmed, PriceDropped } from "@storefront/shared/notifications/events";

export type Content = { title: string; body: string };

const money = (cents: number) => (cents / 100).toFixed(2);

export const backInStockContent = ({ product_id, inventory }: BackInStock["payload"]): Content => ({
  title: `Back in stock: product ${product_id}`,
  body: inventory > 0 ? `Product ${product_id}, on your favorites, is back in stock (${inventory} available).` : `Product ${product_id}, on your favorites, is back in stock.`,
});

export const priceDroppedContent = ({ product_name, old_price_cents, new_price_cents }: PriceDropped["payload"]): Content => ({
  title: `Price drop: ${product_name} now ${money(new_price_cents)}`,
  body: `${product_name}, on your favorites, went from ${money(old_price_cents)} to ${money(new_price_cents)}.`,
});

export const cartReminderContent = (lines: number): Content => ({
  title: "Your cart is waiting",
  body: lines === 1 ? "You left 1 item in your cart." : `You left ${lines} items in your cart.`,
});

// Amounts are plain "12.34": the events carry no currency, and guessing a symbol would be wrong somewhere.
export const orderConfirmedContent = ({ order_id, total_cents }: OrderConfirmed["payload"]): Content => ({
  title: `Order #${order_id} confirmed`,
  body: `We have your payment of ${money(total_cents)} and your order is on its way to being packed.`,
});

export const orderCancelledContent = ({ order_id, reason }: OrderCancelled["payload"]): Content => ({
  title: `Order #${order_id} cancelled: ${reason}`,
  body: "Any payment has been refunded and the items you ordered were released.",
});

export const deliveryAssignedContent = ({ order_id, courier_name }: DeliveryAssigned["payload"]): Content => ({
  title: `Order #${order_id} is on its way`,
  body: `${courier_name} has your order and is bringing it to you.`,
});

// delivery.done names the courier by id only: the body does not guess a name.
export const deliveryDoneContent = ({ order_id }: DeliveryDone["payload"]): Content => ({
  title: `Order #${order_id} delivered`,
  body: "Your order has been handed over. Thank you for shopping with us.",
});
