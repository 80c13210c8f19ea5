// Scenario 5: memory. Idle and under-load RSS of every app come from the run (read after start-up and sampled
// during scenario 1); here, the BFF's RSS growth over 100,000 listings whose inventory call is aborted by its
// deadline (inventory blackholed, INVENTORY_DEADLINE_MS small): a leak of timers, abort controllers or sockets
// per aborted call would show as growth.
import type { BenchContext } from "../context.ts";
import { createFaultProxy } from "../../shared/src/testing/fault-proxy.ts";
import { atMost, mb, ms, num, table, type Section, type TargetRow } from "../report.ts";
import { rssMb } from "../proc.ts";
import { startBff, upstreamUrls } from "../stack.ts";
import { runWrk, socketErrors, type WrkResult } from "../wrk.ts";

const NAME = "5. memory";
const LISTINGS = 100_000;
const WARM_UP = 10_000;
const CONNECTIONS = 64;
const CHUNK_S = 10;
const INVENTORY_DEADLINE_MS = 10;
const INVENTORY_DROPPED = '"degraded":["inventory"]';
// Pages of the 10-product catalogue: 55 different sets of ids, so that concurrent listings seldom share one
// inventory call (the BFF shares identical ones) and most inventory fetches are really aborted.
const PAGES = Array.from({ length: 10 }, (_, after) =>
  Array.from({ length: 10 - after }, (_, i) => `/products/all?limit=${i + 1}${after ? `&after=${after}` : ""}`),
).flat();
// The inventory breaker must stay closed, or later calls are refused without a fetch to abort.
const SETTINGS = { INVENTORY_DEADLINE_MS: String(INVENTORY_DEADLINE_MS), BREAKER_MIN_CALLS: "1000000000" };

export async function memory(ctx: BenchContext): Promise<Section> {
  const targets: TargetRow[] = [];
  const apps = ["users", "products", "inventory", "favorites", "cart", "bff"];
  for (const app of apps) targets.push(atMost(NAME, `${app} RSS idle`, ctx.idleRss.get(app) ?? Number.NaN, 60, "MB", mb(ctx.idleRss.get(app) ?? Number.NaN)));
  for (const app of apps) targets.push(atMost(NAME, `${app} RSS under scenario 1`, ctx.loadRss.get(app) ?? Number.NaN, 120, "MB", mb(ctx.loadRss.get(app) ?? Number.NaN)));

  if (!ctx.hasWrk) {
    targets.push({ scenario: NAME, metric: "BFF RSS growth", target: "<= 20 MB", measured: "not measured: wrk is not installed", met: null });
    return { title: NAME, targets, body: ["Only idle RSS measured: wrk is not installed (apt-get install -y wrk)."] };
  }
  const proxy = await createFaultProxy({ upstreamPort: ctx.services.inventory.port, mode: { kind: "blackhole" } });
  const bff = await startBff(ctx.appEnv, { ...upstreamUrls(ctx.services), inventory: `http://127.0.0.1:${proxy.port}` }, SETTINGS, "bff-memory");
  const url = `${bff.url}/products/all`;
  const steps: { listings: number; rss: number; chunk?: WrkResult }[] = [];
  try {
    const fresh = rssMb(bff.pid);
    steps.push({ listings: 0, rss: fresh });
    let done = 0;
    let dropped = 0;
    let complete = 0;
    let warmRss = Number.NaN;
    const chunkS = ctx.quick ? 2 : CHUNK_S;
    const total = ctx.quick ? LISTINGS / 10 : LISTINGS;
    const warmUp = ctx.quick ? WARM_UP / 10 : WARM_UP;
    // Warm-up first (JIT, heap sizing), then chunks until `total` listings more: RSS after each chunk.
    while (done < warmUp) {
      const r = await runWrk({ url, connections: CONNECTIONS, durationS: 2, header: ctx.userHeader, paths: PAGES });
      done += r.requests;
    }
    warmRss = rssMb(bff.pid);
    steps.push({ listings: done, rss: warmRss });
    const start = done;
    proxy.resetCounts();
    while (done - start < total) {
      const chunk = await runWrk({ url, connections: CONNECTIONS, durationS: chunkS, header: ctx.userHeader, bodyMark: INVENTORY_DROPPED, paths: PAGES });
      done += chunk.requests;
      dropped += chunk.marked;
      complete += chunk.statuses["200"] ?? 0;
      steps.push({ listings: done, rss: rssMb(bff.pid), chunk });
    }
    const measured = done - start;
    const finalRss = rssMb(bff.pid);
    await Bun.sleep(5_000);
    const settledRss = rssMb(bff.pid);
    const growth = finalRss - warmRss;
    targets.push(
      atMost(NAME, `BFF RSS growth over ${num(measured)} aborted-inventory listings, after a warm-up`, growth, 20, "MB", `${mb(growth)} (${mb(finalRss - fresh)} from the fresh start)`),
    );

    return {
      title: NAME,
      targets,
      body: [
        "RSS is VmRSS from /proc/<pid>/status. Idle: read 2 s after every app answered /ready, before any load. Under load:",
        "the highest of samples every 200 ms during scenario 1's runs of our stack (warm-up included).",
        "",
        ...table(
          ["app", "idle", "under scenario 1"],
          apps.map((a) => [a, mb(ctx.idleRss.get(a) ?? Number.NaN), mb(ctx.loadRss.get(a) ?? Number.NaN)]),
        ),
        ...(ctx.peerLoadRss.size
          ? ["", `The peer's five Python processes under scenario 1, for comparison: ${[...ctx.peerLoadRss.values()].map(mb).join(", ")}.`]
          : []),
        "",
        `Growth: a fresh BFF with inventory behind shared/src/testing/fault-proxy.ts in blackhole mode and ${Object.entries(SETTINGS)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")};`,
        `wrk ${CONNECTIONS} connections in ${chunkS} s chunks, each listing a random one of ${PAGES.length} pages (\`?limit=&after=\`, each a different set`,
        `of inventory ids, so that concurrent listings seldom share an inventory call).`,
        `${num(warmUp)}+ listings of warm-up, then ${num(measured)} listings measured.`,
        `Of those, ${num(dropped)} answered 200 with \`${INVENTORY_DROPPED}\` (inventory aborted by its deadline), ${num(complete)} answered 200 in all;`,
        `the blackhole accepted ${num(proxy.accepted)} connections (one per inventory call that reached a socket; concurrent`,
        "identical listings share one call, so each listing's own deadline fires on a shared call that may live on).",
        `Growth is counted from after the warm-up; from the fresh start it is ${mb(finalRss - fresh)}. 5 s after the last chunk: ${mb(settledRss)}.`,
        "",
        ...table(
          ["listings", "RSS", "chunk listings/s", "chunk p50", "chunk p99", "socket errors"],
          steps.map((s) => [
            num(s.listings),
            mb(s.rss),
            s.chunk ? num(s.chunk.rps) : "",
            s.chunk ? ms(s.chunk.latency.p50) : "",
            s.chunk ? ms(s.chunk.latency.p99) : "",
            s.chunk ? String(socketErrors(s.chunk)) : "",
          ]),
        ),
      ],
    };
  } finally {
    await bff.stop();
    await proxy.close();
  }
}
