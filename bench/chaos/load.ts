// The chaos run's open-loop load on the BFF: listings and cart writes (each user with its own token) and an
// admin's stock and price changes, sent on a fixed schedule whatever the answers (a slow or dead BFF does not
// slow the load down), each under its own timer, every answer recorded.

/** A status code, or why there was none. */
export type Outcome = number | "timeout" | "connection error";

export type Answer = {
  /** performance.now() when sent and when the answer (body included) was in. */
  sentMs: number;
  doneMs: number;
  outcome: Outcome;
  /** Listings: a 200 with degraded [] and not stale. */
  full: boolean;
  /** Listings: the parts named in degraded, "stale" when it was; errors: the error's code. */
  detail: string[];
};

export type LoadOptions = {
  bffUrl: string;
  /** Access tokens of users 1..n: request i is user (i mod n)'s. */
  userTokens: string[];
  /** An admin's access token: catalogue changes go through the BFF's /admin routes with it. */
  adminToken: string;
  /** Stock and price changes per second: half of them emit an outbox event (back in stock, price drop). */
  changesPerSecond: number;
  seconds: number;
  listingsPerSecond: number;
  writesPerSecond: number;
  timeoutMs: number;
  /** Cart writes cycle through products 1..products. */
  products: number;
  /** Stock and price changes cycle through products 1..catalogueProducts: the ones above are the checkouts', whose stock must add up. */
  catalogueProducts: number;
};

export type LoadResult = { listings: Answer[]; writes: Answer[]; changes: Answer[] };

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { bffUrl, seconds, listingsPerSecond, writesPerSecond, timeoutMs, userTokens, products } = options;
  const users = userTokens.length;
  const listings: Answer[] = [];
  const writes: Answer[] = [];
  const changes: Answer[] = [];
  const asUser = (i: number) => `Bearer ${userTokens[i % users]}`;
  await Promise.all([
    openLoop(seconds, listingsPerSecond, (i) =>
      send(`${bffUrl}/products/all`, { headers: { authorization: asUser(i) } }, timeoutMs, true).then((a) => void listings.push(a)),
    ),
    openLoop(seconds, writesPerSecond, (i) =>
      send(
        `${bffUrl}/cart`,
        {
          method: "POST",
          headers: { authorization: asUser(i), "content-type": "application/json" },
          // Products 1..n in turn; the user cycles faster, so each user's cart sees every product over time.
          body: JSON.stringify({ product_id: 1 + (Math.floor(i / users) % products), quantity: 1 }),
        },
        timeoutMs,
        false,
      ).then((a) => void writes.push(a)),
    ),
    openLoop(seconds, options.changesPerSecond, (i) => {
      const change = catalogueChange(options, i);
      const headers = { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" };
      return send(change.url, { method: change.method, headers, body: JSON.stringify(change.body) }, timeoutMs, false).then(
        (a) => void changes.push(a),
      );
    }),
  ]);
  return { listings, writes, changes };
}

/**
 * The i-th catalogue change, in rounds of four on one product: stock to 0, stock to 7 (a back-in-stock event),
 * price up, price down (a price-drop event), through the BFF's admin routes. So the products and inventory
 * relays publish while they are killed.
 */
function catalogueChange(options: LoadOptions, i: number): { method: string; url: string; body: unknown } {
  const product = 1 + (Math.floor(i / 4) % options.catalogueProducts);
  const cents = 1000 + 100 * product;
  switch (i % 4) {
    case 0:
      return { method: "PUT", url: `${options.bffUrl}/admin/products/${product}/inventory`, body: { inventory: 0 } };
    case 1:
      return { method: "PUT", url: `${options.bffUrl}/admin/products/${product}/inventory`, body: { inventory: 7 } };
    case 2:
      return { method: "PATCH", url: `${options.bffUrl}/admin/products/${product}`, body: { price_cents: cents + 500 } };
    default:
      return { method: "PATCH", url: `${options.bffUrl}/admin/products/${product}`, body: { price_cents: cents } };
  }
}

/** Calls `fire(i)` at start + i/rate for `seconds`, without waiting for earlier calls; resolves when all settled. */
async function openLoop(seconds: number, rate: number, fire: (i: number) => Promise<void>): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rate;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    inFlight.push(fire(i));
  }
  await Promise.all(inFlight);
}

/** What came back for one request: the status and body, or why there was none. */
export type Reply = { sentMs: number; doneMs: number; outcome: Outcome; text: string; headers: Headers | null; error: string | null };

/** One request under its own timer, which covers the body too (AbortSignal.timeout alone is not trusted here). */
export async function timedFetch(url: string, init: RequestInit, timeoutMs: number): Promise<Reply> {
  const sentMs = performance.now();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve("timeout");
    }, timeoutMs);
  });
  const call = (async () => {
    const res = await fetch(url, { ...init, signal: controller.signal });
    return { status: res.status, text: await res.text(), headers: res.headers };
  })();
  try {
    const got = await Promise.race([call, timedOut]);
    if (got === "timeout") {
      call.catch(() => {});
      return { sentMs, doneMs: performance.now(), outcome: "timeout", text: "", headers: null, error: null };
    }
    return { sentMs, doneMs: performance.now(), outcome: got.status, text: got.text, headers: got.headers, error: null };
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name;
    return { sentMs, doneMs: performance.now(), outcome: "connection error", text: "", headers: null, error: code };
  } finally {
    clearTimeout(timer);
  }
}

async function send(url: string, init: RequestInit, timeoutMs: number, listing: boolean): Promise<Answer> {
  const { sentMs, doneMs, outcome, text, error } = await timedFetch(url, init, timeoutMs);
  if (typeof outcome !== "number") return { sentMs, doneMs, outcome, full: false, detail: error ? [error] : [] };
  const { full, detail } = listing ? judgeListing(outcome, text) : { full: false, detail: [] };
  return { sentMs, doneMs, outcome, full, detail };
}

function judgeListing(status: number, text: string): { full: boolean; detail: string[] } {
  if (status !== 200) return { full: false, detail: [] };
  try {
    const body = JSON.parse(text) as { degraded?: unknown; stale?: unknown };
    const degraded = Array.isArray(body.degraded) ? body.degraded.map(String) : ["(no degraded field)"];
    const detail = body.stale !== undefined ? [...degraded, "stale"] : degraded;
    return { full: detail.length === 0, detail };
  } catch {
    return { full: false, detail: ["(not JSON)"] };
  }
}
