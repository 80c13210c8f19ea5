// The short messages a redirect can ask the next page to show (`?notice=<code>`). Only these codes: a page
// never prints text taken from the query string.
export const NOTICES = {
  "cart-added": "Added to your cart.",
  "cart-not-added": "That could not be added to your cart (at most 999 of a product).",
  "cart-updated": "Your cart is updated.",
  "cart-removed": "Removed from your cart.",
  "cart-not-updated": "Your cart could not be changed. Please try again.",
  "favorite-added": "Added to your favorites.",
  "favorite-removed": "Removed from your favorites.",
  "favorite-not-changed": "Your favorites could not be changed. Please try again.",
  "notification-read": "Marked as read.",
  "order-confirmed": "Thank you! Your order is confirmed.",
  "order-processing": "Thank you! Your order is placed and is being processed.",
  "order-cancelled": "Your order is cancelled. Any payment is refunded.",
  "order-cancelling": "Your order is being cancelled. Any payment will be refunded.",
  "order-not-cancellable": "This order can no longer be cancelled: it has already shipped.",
  welcome: "Welcome! Your account is ready and you are logged in.",
  "logged-in": "You are logged in.",
  "logged-out": "You are logged out.",
  "session-ended": "Your session has ended. Please log in again.",
  "login-needed": "Please log in to continue.",
  "stock-updated": "The stock is updated.",
  "stock-below-reserved": "The stock was not changed: it cannot be set below what is reserved for orders.",
  "stock-invalid": "The stock was not changed: enter a whole number from 0.",
  "price-updated": "The price is updated.",
  "price-invalid": "The price was not changed: enter an amount such as 24.90.",
  "product-missing": "That product no longer exists; nothing was changed.",
  "courier-assigned": "The courier is assigned. The customer is told their order has shipped.",
  "courier-invalid": "Choose a courier from the list.",
  "courier-missing": "That courier or delivery no longer exists; nothing was changed.",
  "delivery-has-courier": "That delivery already has a courier (another admin may just have assigned one); nothing was changed.",
  "delivery-not-paid": "That delivery cannot have a courier yet: its order is not paid.",
  "delivery-already-done": "That delivery has already been delivered; nothing was changed.",
  "delivery-cancelled": "That delivery was cancelled with its order; nothing was changed.",
  "delivery-done": "Marked delivered. The customer is told.",
  "delivery-not-yours": "That delivery was not found among yours; nothing was changed.",
  "delivery-not-open": "That delivery is no longer open (already delivered, or cancelled); nothing was changed.",
  "switches-set": "The switches are set: inventory takes them from its next request.",
  "switches-off": "The switches are off: start inventory with INVENTORY_CHAOS_SWITCHES=1.",
  "switches-invalid": "The switches were not changed: delays are whole milliseconds from 0 to 60000 (the least no more than the most), and the failure rate a percentage from 0 to 100.",
  "switches-admin-only": "The switches were not changed: the BFF takes them from an admin only. Log in as an admin.",
} as const;

export type NoticeCode = keyof typeof NOTICES;

export const noticeText = (code: string | undefined): string | undefined =>
  code !== undefined && Object.hasOwn(NOTICES, code) ? NOTICES[code as NoticeCode] : undefined;
