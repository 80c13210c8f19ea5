// How amounts, dates and stock read on the pages.
const money = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });
const dateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const dateOnly = new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeZone: "UTC" });

/** 2490 -> "£24.90". The seed's prices carry no currency; the shop shows pounds. */
export const formatMoney = (cents: number) => money.format(cents / 100);

/** An ISO time as "22 Nov 2026, 10:04 UTC"; the text as it came when it is not a time. */
export function formatTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${dateTime.format(at)} UTC`;
}

/** "2026-12-24" as "24 December 2026". */
export function formatDate(isoDate: string): string {
  const at = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(at.getTime()) ? isoDate : dateOnly.format(at);
}

/** Available stock as a shopper reads it; null is "unknown" (inventory did not answer). */
export function stockLabel(inventory: number | null | undefined): string {
  if (inventory === null || inventory === undefined) return "Stock unknown";
  return inventory === 0 ? "Out of stock" : `${inventory} in stock`;
}

/** A YYYY-MM-DD date `days` after `now`, in UTC (the delivery date's bounds). */
export const isoDay = (now: number, days = 0) => new Date(now + days * 86_400_000).toISOString().slice(0, 10);
