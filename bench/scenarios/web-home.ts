// Scenario 9: the web storefront's home page (/). On a stack started afresh for it (the five services,
// notifications when Redis answers, a BFF and the web app), wrk asks for / on 8 keep-alive connections for a
// fixed time after a warm-up, once as a visitor and once logged in (user 1: the `sf_access` cookie the web app
// reads, holding a token the bench signs, the same as the users service would issue). Reported: the web app's
// own http_request_duration_seconds for the route (server side, judged), the client's latency and requests/s,
// the page's bytes (HTML with its inline CSS; the page has no images or other files), and how much of the
// server time is the BFF's listing, from the BFF's own histogram for GET /products/all. A third run, not
// judged, is logged in as a random one of users 1-1000 per request (a fetch loop in the bench process: wrk's
// script cannot vary a cookie): with one user, the web app's sharing of concurrent identical BFF calls merges
// most of the favorites, cart and inbox calls of the 8 connections, which many users' pages do not.
//
// The catalogue is filled to more than one grid page before the BFF starts (fillCatalogue), so the page weighed
// is a full grid of products, not the ten or twelve of the seed.
import { gzipSync } from "node:zlib";
import { psql, type BenchService } from "../databases.ts";
import { watchCpu } from "../proc.ts";
import { ms, num, table, type Section, type TargetRow } from "../report.ts";
import type { RunningApp, WebStack } from "../stack.ts";
import type { TokenMint } from "../tokens.ts";
import { percentile } from "../stats.ts";
import { delta, merge, parseHistograms, quantile, type Scrape, type Series } from "../metrics.ts";
import { runWrk, socketErrors } from "../wrk.ts";

const NAME = "9. web home";
const TITLE = "9. web storefront home page";
const CONNECTIONS = 8;
const TARGET_P50_MS = 20;
const TARGET_PAGE_KB = 60;
/** The web app's grid page (GRID_PAGE in apps/web/src/routes/shop.ts) plus some, so page 1 is full and has a "next". */
const CATALOGUE_SIZE = 30;
/** Both degraded banners of the home page end with it (apps/web/src/views/products.tsx, DegradedBanners). */
const DEGRADED_MARK = "right now.";
/** The not-judged run's users, as scenario 1's many-users run. */
const MANY_USERS = 1000;

export type WebHomeContext = {
  stack: WebStack;
  tokens: TokenMint;
  /** Seconds of measured load per variant. */
  runS: number;
  quick: boolean;
  log: (msg: string) => void;
};

/**
 * Products 1..CATALOGUE_SIZE in bench_products (names and descriptions of ordinary length) with stock in
 * bench_inventory; rows already there are kept. Run once the services have migrated, before the BFF starts.
 */
export async function fillCatalogue(dbUrls: Record<BenchService, string>): Promise<void> {
  await psql(
    dbUrls.products,
    `insert into product (product_id, product_name, description, sku, price_cents)
     select g, 'Bench product ' || g || ', a name of usual length', 'A description of the length a real product has on the grid', 'BEN-' || g, 990 + g * 37
     from generate_series(1, ${CATALOGUE_SIZE}) g
     on conflict do nothing;
     select setval(pg_get_serial_sequence('product', 'product_id'), (select max(product_id) from product))`,
  );
  await psql(dbUrls.inventory, `insert into stock (product_id, inventory) select g, 40 + g from generate_series(1, ${CATALOGUE_SIZE}) g on conflict do nothing`);
}

/** One cookie header for every request (wrk), or one picked at random per request (fetch loop); `judged`: in the targets. */
type Variant = { label: string; cookie: string; cookies?: string[]; judged: boolean };
/** What a run's client saw, from wrk or from the fetch loop. */
type Load = { tool: string; rps: number; requests: number; p50: number; p99: number; notOk: number; socketErrors: number; degraded: number };
type Page = { bytes: number; gzipBytes: number; products: number; images: number; externalFiles: number; degraded: boolean };
type Result = {
  variant: Variant;
  page: Page;
  load: Load;
  /** The web app's GET / (status 200) over the run. */
  server: Series | null;
  /** The BFF's GET /products/all over the run. */
  listing: Series | null;
  /** Every BFF route the run reached, for the table. */
  bffRoutes: Series[];
  /** The web app's calls to the BFF (web_bff_request_duration_seconds), all outcomes. */
  webToBff: Series | null;
  cpuMsPerPage: Map<string, number>;
};

export async function webHome(ctx: WebHomeContext): Promise<Section> {
  const { stack } = ctx;
  const url = `${stack.web.url}/`;
  // The visitor's CSRF cookie, as a browser keeps it: without it the web app would mint one (and a Set-Cookie) per page.
  const first = await fetch(url);
  await first.arrayBuffer();
  if (first.status !== 200) throw new Error(`GET / answered ${first.status} before the run`);
  const csrf = /(?:^|,\s*)(sf_csrf=[^;]+)/.exec(first.headers.get("set-cookie") ?? "")?.[1];
  if (!csrf) throw new Error(`GET / set no sf_csrf cookie (set-cookie: ${first.headers.get("set-cookie")})`);
  const variants: Variant[] = [
    { label: "visitor", cookie: csrf, judged: true },
    { label: "logged in (user 1)", cookie: `${csrf}; sf_access=${await ctx.tokens.user(1)}`, judged: true },
    {
      label: `logged in (users 1-${MANY_USERS}, not judged)`,
      cookie: `${csrf}; sf_access=${await ctx.tokens.user(1)}`,
      cookies: (await ctx.tokens.users(MANY_USERS)).map((token) => `${csrf}; sf_access=${token}`),
      judged: false,
    },
  ];

  const results: Result[] = [];
  for (const variant of variants) {
    const page = await weigh(url, variant.cookie);
    if (page.products === 0) throw new Error(`the ${variant.label} home page lists no product`);
    // Warm-up: JIT, keep-alive connections web -> BFF -> services, the BFF's products cache, token caches.
    await drive(url, variant, ctx.quick ? 1 : 3);
    const apps = [stack.web, stack.bff, ...Object.values(stack.services), ...(stack.notifications ? [stack.notifications] : [])];
    const before = await scrape([stack.web, stack.bff]);
    const cpu = watchCpu(apps.map((a) => a.pid));
    const load = await drive(url, variant, ctx.runS);
    const used = cpu.stop();
    const after = await scrape([stack.web, stack.bff]);
    const grown = [...after].map(([key, s]) => delta(s, before.get(key))).filter((s) => s.count > 0);
    const pick = (app: string, name: string, match: (l: Record<string, string>) => boolean) => {
      const found = grown.filter((s) => s.app === app && s.name === name && match(s.labels));
      return found.length ? merge(found) : null;
    };
    results.push({
      variant,
      page,
      load,
      server: pick("web", "http_request_duration_seconds", (l) => l.method === "GET" && l.route === "/" && l.status === "200"),
      listing: pick("bff", "http_request_duration_seconds", (l) => l.method === "GET" && l.route === "/products/all"),
      bffRoutes: grown.filter((s) => s.app === "bff" && s.name === "http_request_duration_seconds" && !/^\/(metrics|health|ready)$/.test(s.labels.route ?? "")),
      webToBff: pick("web", "web_bff_request_duration_seconds", () => true),
      cpuMsPerPage: new Map(apps.map((a) => [a.name, (used.perPid.get(a.pid) ?? Number.NaN) / Math.max(1, load.requests)])),
    });
    ctx.log(`web home, ${variant.label}: ${num(load.rps)}/s, server p50 ${ms(p(results.at(-1)!.server, 0.5))}`);
  }

  const targets: TargetRow[] = results.filter((r) => r.variant.judged).flatMap((r) => {
    const p50 = p(r.server, 0.5);
    return [
      {
        scenario: NAME,
        metric: `GET / p50, server side (${r.variant.label}, ${CONNECTIONS} conns)`,
        target: `< ${TARGET_P50_MS} ms`,
        measured: `${ms(p50)} (est.; client ${ms(r.load.p50)})`,
        met: Number.isFinite(p50) ? p50 < TARGET_P50_MS : null,
      },
      {
        scenario: NAME,
        metric: `page weight, HTML + inline CSS (${r.variant.label})`,
        target: `< ${TARGET_PAGE_KB} KB`,
        measured: `${num(r.page.bytes / 1024, 1)} KB (${r.page.products} products)`,
        met: r.page.images === 0 && r.page.externalFiles === 0 ? r.page.bytes < TARGET_PAGE_KB * 1024 : null,
      },
    ];
  });

  const notificationsNote = stack.notifications
    ? "notifications (the logged-in header's unread count)"
    : "no notifications service (no Redis: the BFF's NOTIFICATIONS_URL is a closed port, so the logged-in header's unread count is left out)";
  return {
    title: TITLE,
    targets,
    body: [
      `wrk (the third run: a fetch loop), ${CONNECTIONS} keep-alive connections, \`GET /\` of the web app for ${ctx.runS} s per variant after a ${ctx.quick ? 1 : 3} s warm-up, on a stack`,
      `started afresh for this scenario: the five services, ${notificationsNote}, a BFF and the web app, default settings (the BFF's`,
      "rate limits out of reach as everywhere). Every request carries the CSRF cookie the first answer set, as a browser would; the",
      "logged-in one also `sf_access` with user 1's access token (signed by the bench with the run's key: the cookie the web app sets at",
      `login). The catalogue was filled to ${CATALOGUE_SIZE} products first, so the page is a full grid. Server side: the web app's own`,
      "`http_request_duration_seconds` for route `/` (status 200) over the measured run, p50/p99 interpolated within its buckets",
      "(estimates, as coarse as the buckets). BFF listing: the BFF's own histogram for `GET /products/all` over the same run; its share is",
      "its mean over the web app's mean (the home page waits for the listing, which carries the cart count; logged in, the favorites and",
      "inbox calls run alongside it). Degraded: answers carrying a degraded banner. The web app shares concurrent identical GETs to the BFF (one",
      "call, several waiting pages), so the BFF sees fewer listings than there are pages (\"per page\" below); with one user the",
      `favorites, cart and inbox calls are shared too, which the run with users 1-${MANY_USERS} (a random one per request, from a fetch loop`,
      `of ${CONNECTIONS} concurrent requests in the bench process, whose own CPU competes with the stack's) shows without.`,
      "",
      ...table(
        ["variant", "load", "pages/s", "client p50", "client p99", "server p50 (est.)", "server p99 (est.)", "server mean", "BFF listing mean", "listing share", "non-200 / socket errors", "degraded"],
        results.map((r) => {
          const serverMean = mean(r.server);
          const listingMean = mean(r.listing);
          return [
            r.variant.label,
            r.load.tool,
            num(r.load.rps),
            ms(r.load.p50),
            ms(r.load.p99),
            ms(p(r.server, 0.5)),
            ms(p(r.server, 0.99)),
            ms(serverMean, 2),
            ms(listingMean, 2),
            `${num((100 * listingMean) / serverMean)} %`,
            `${num(r.load.notOk)} / ${num(r.load.socketErrors)}`,
            num(r.load.degraded),
          ];
        }),
      ),
      "",
      "The page as served (before the load): bytes of the HTML, inline CSS included (no compression: the web app sends none), for",
      "comparison gzipped, products on the grid (links to a product page), and files the page would fetch besides (images, stylesheets,",
      "scripts: none expected).",
      "",
      ...table(
        ["variant", "HTML bytes", "gzipped", "products", "<img>", "other files", "degraded banner"],
        results.filter((r) => r.variant.judged).map((r) => [
          r.variant.label,
          `${num(r.page.bytes)} (${num(r.page.bytes / 1024, 1)} KB)`,
          `${num(r.page.gzipBytes)} (${num(r.page.gzipBytes / 1024, 1)} KB)`,
          String(r.page.products),
          String(r.page.images),
          String(r.page.externalFiles),
          r.page.degraded ? "**yes**" : "no",
        ]),
      ),
      "",
      "Server-side histograms over each measured run: the web app's page, its calls to the BFF (all of them, summed; logged in, several",
      "per page run at once), and the BFF's routes as the BFF saw them.",
      "",
      ...table(
        ["variant", "what", "count", "per page", "mean", "p50 (est.)", "p99 (est.)"],
        results.flatMap((r) => {
          const row = (what: string, s: Series | null) => [
            r.variant.label,
            what,
            num(s?.count ?? 0),
            num((s?.count ?? 0) / Math.max(1, r.server?.count ?? 0), 2),
            ms(mean(s), 2),
            ms(p(s, 0.5)),
            ms(p(s, 0.99)),
          ];
          return [
            row("web: GET / (200)", r.server),
            row("web -> BFF calls", r.webToBff),
            ...r.bffRoutes.sort((a, b) => b.count - a.count).map((s) => row(`bff: ${s.labels.method} ${s.labels.route} (${s.labels.status})`, s)),
          ];
        }),
      ),
      "",
      "CPU per page (ms, from /proc over the measured run):",
      "",
      ...table(
        ["variant", ...[...results[0]!.cpuMsPerPage.keys()]],
        results.map((r) => [r.variant.label, ...[...r.cpuMsPerPage.values()].map((v) => num(v, 2))]),
      ),
    ],
  };
}

/** GET `url` for `durationS` on CONNECTIONS connections: wrk with the variant's one cookie, or a fetch loop picking one of its cookies per request. */
async function drive(url: string, variant: Variant, durationS: number): Promise<Load> {
  if (!variant.cookies) {
    const r = await runWrk({ url, connections: CONNECTIONS, durationS, header: `cookie: ${variant.cookie}`, bodyMark: DEGRADED_MARK });
    return { tool: "wrk", rps: r.rps, requests: r.requests, p50: r.latency.p50, p99: r.latency.p99, notOk: r.requests - (r.statuses["200"] ?? 0), socketErrors: socketErrors(r), degraded: r.marked };
  }
  const cookies = variant.cookies;
  const latencies: number[] = [];
  let notOk = 0;
  let failed = 0;
  let degraded = 0;
  const started = performance.now();
  const until = started + durationS * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const sent = performance.now();
      try {
        const res = await fetch(url, { headers: { cookie: cookies[Math.floor(Math.random() * cookies.length)]! }, signal: AbortSignal.timeout(5_000) });
        const html = await res.text();
        latencies.push(performance.now() - sent);
        if (res.status !== 200) notOk++;
        if (html.includes(DEGRADED_MARK)) degraded++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const elapsedS = (performance.now() - started) / 1000;
  return { tool: "fetch", rps: latencies.length / elapsedS, requests: latencies.length + failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), notOk, socketErrors: failed, degraded };
}

/** The home page as `cookie` gets it: its size and what it holds. */
async function weigh(url: string, cookie: string): Promise<Page> {
  const res = await fetch(url, { headers: { cookie } });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET / with the cookies answered ${res.status}`);
  const html = new TextDecoder().decode(body);
  return {
    bytes: body.byteLength,
    gzipBytes: gzipSync(body).byteLength,
    products: new Set([...html.matchAll(/href="\/products\/(\d+)"/g)].map((m) => m[1])).size,
    images: (html.match(/<img\b/gi) ?? []).length,
    externalFiles: (html.match(/<link\b[^>]*rel="(?:stylesheet|preload|icon)"|<script\b[^>]*\bsrc=/gi) ?? []).length,
    degraded: html.includes(DEGRADED_MARK),
  };
}

// ---- Prometheus histograms, before and after a run (the same reading as scenario 8's) ----

async function scrape(apps: RunningApp[]): Promise<Scrape> {
  const all: Scrape = new Map();
  for (const app of apps) {
    const text = await fetch(`${app.url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    parseHistograms(app.name, text, all);
  }
  return all;
}

/** The estimate in ms. */
const p = (s: Series | null, q: number) => (s ? 1000 * quantile(s, q) : Number.NaN);

const mean = (s: Series | null) => (s && s.count > 0 ? (1000 * s.sum) / s.count : Number.NaN);
