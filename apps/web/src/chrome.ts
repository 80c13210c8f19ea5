// What the header of every page shows besides the links: for a logged-in user, the cart's line count and the
// inbox's unread count. Each is fetched alongside the page's own data (or taken from it, e.g. the listing's
// cart_items), and is simply left out when the BFF cannot say: a count never fails a page.
import type { Context } from "hono";
import { bffGet } from "./calls.ts";
import type { WebEnv } from "./context.ts";
import type { Session } from "./session.ts";
import { CartLines, Inbox } from "./shapes.ts";
import { noticeText } from "./notices.ts";

/** How many notifications the header looks at: the count reads "99+" past this. */
export const UNREAD_WINDOW = 100;

export type Chrome = {
  session: Session | null;
  csrfToken: string;
  /** The request's path, for aria-current in the navigation. */
  path: string;
  /** null: unknown right now; undefined: not shown (a visitor). */
  cartCount?: number | null;
  unread?: number | null;
  unreadMore?: boolean;
  /** A message from the redirect that led here (notices.ts). */
  notice?: string;
};

type Known<T> = T | null | Promise<T | null>;

/** Settles to the value, or null when it fails: never rejects. */
const settle = <T>(value: Known<T> | undefined, fetch: () => Promise<T | null>): Promise<T | null> =>
  Promise.resolve(value === undefined ? fetch() : value).then(
    (v) => v,
    () => null,
  );

export async function unreadOf(c: Context<WebEnv>): Promise<{ unread: number; more: boolean }> {
  const reply = await bffGet(c, `/notifications?limit=${UNREAD_WINDOW}`);
  const parsed = reply.status === 200 ? Inbox.safeParse(reply.body) : null;
  if (!parsed?.success) throw new Error("no inbox");
  const unread = parsed.data.filter((n) => n.read_at === null).length;
  return { unread, more: unread === UNREAD_WINDOW };
}

async function cartCountOf(c: Context<WebEnv>): Promise<number | null> {
  const reply = await bffGet(c, "/cart");
  const parsed = reply.status === 200 ? CartLines.safeParse(reply.body) : null;
  return parsed?.success ? parsed.data.length : null;
}

/**
 * Start this before awaiting the page's own data, so the counts are fetched at the same time. `known` takes a
 * count the page has (or will have) anyway instead of asking the BFF for it again.
 */
export function loadChrome(c: Context<WebEnv>, known: { cartCount?: Known<number>; unread?: Known<{ unread: number; more: boolean }> } = {}): Promise<Chrome> {
  const session = c.get("session");
  const base = { session, csrfToken: c.get("csrfToken"), path: c.req.path, notice: noticeText(c.req.query("notice")) };
  if (!session) {
    // Not shown to a visitor; a promise passed in is still handled, so its failure is nobody's unhandled rejection.
    for (const value of Object.values(known)) if (value instanceof Promise) value.catch(() => {});
    return Promise.resolve(base);
  }
  const cart = settle(known.cartCount, () => cartCountOf(c));
  const inbox = settle(known.unread, () => unreadOf(c));
  return Promise.all([cart, inbox]).then(([cartCount, unread]) => ({ ...base, cartCount, unread: unread?.unread ?? null, unreadMore: unread?.more ?? false }));
}

/** The header of a page drawn without asking the BFF anything (login, errors). */
export function plainChrome(c: Context<WebEnv>): Chrome {
  return { session: c.get("session") ?? null, csrfToken: c.get("csrfToken") ?? "", path: c.req.path, notice: noticeText(c.req.query("notice")) };
}
