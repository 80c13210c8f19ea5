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
} as const;

export type NoticeCode = keyof typeof NOTICES;

export const noticeText = (code: string | undefined): string | undefined =>
  code !== undefined && Object.hasOwn(NOTICES, code) ? NOTICES[code as NoticeCode] : undefined;
