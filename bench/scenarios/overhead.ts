// Scenario 2: the BFF's own overhead. products is held at 50 ms by a latency proxy and inventory at 50 ms by its
// INVENTORY_DELAY_MS knob, at half of scenario 1's peak rate (fixed-rate load, bench/fixed-rate.ts). Overhead
// per listing = its latency minus the time the BFF spent waiting on upstreams, read from the answer's
// Server-Timing header (products/cart/favorites run together, then inventory); "latency - 100 ms" is shown too.
import type { BenchContext } from "../context.ts";
import { createFaultProxy } from "../../shared/src/testing/fault-proxy.ts";
import { runFixedRate, type FixedRateResult } from "../fixed-rate.ts";
import { watchCpu } from "../proc.ts";
import { atMost, ms, num, table, type Section, type TargetRow } from "../report.ts";
import { startApp, startBff, upstreamUrls, type RunningApp } from "../stack.ts";
import { percentile } from "../stats.ts";

const NAME = "2. overhead";
const DELAY_MS = 50;
const FLOOR_MS = 2 * DELAY_MS;
const WARM_UP_S = 3;
// The products cache would take products off the path; this variant keeps it on the path, as the scenario says.
const CACHE_OFF = { PRODUCTS_CACHE_TTL_MS: "0", PRODUCTS_CACHE_SWR_MS: "0" };

type Variant = { label: string; settings: Record<string, string>; judged: boolean; rate: (ctx: BenchContext) => number };
const half = (rps: number) => Math.max(10, Math.round(rps / 2));
const VARIANTS: Variant[] = [
  { label: "products cache off, half of scenario 1's peak", settings: CACHE_OFF, judged: true, rate: (ctx) => half(ctx.peakRps) },
  { label: "products cache off, half of the many-users run", settings: CACHE_OFF, judged: false, rate: (ctx) => half(ctx.manyUsersRps) },
  { label: "defaults (products cache on), half of scenario 1's peak", settings: {}, judged: false, rate: (ctx) => half(ctx.peakRps) },
];

/** ms the BFF waited on upstreams for one listing: the slowest of products/cart/favorites, then inventory. */
export function upstreamWaitMs(serverTiming: string): number | null {
  if (!serverTiming) return null;
  const dur = new Map<string, number>();
  for (const entry of serverTiming.split(",")) {
    const [name, ...params] = entry.trim().split(";");
    const d = params.find((p) => p.startsWith("dur="));
    if (name && d) dur.set(name, Number(d.slice(4)));
  }
  const first = Math.max(dur.get("products") ?? 0, dur.get("cart") ?? 0, dur.get("favorites") ?? 0);
  return first + (dur.get("inventory") ?? 0);
}

/** Latency of one upstream leg, sampled one request at a time while the load runs. */
async function sampleLeg(url: string, until: number): Promise<number[]> {
  const samples: number[] = [];
  while (Date.now() < until) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    samples.push(performance.now() - t0);
    await Bun.sleep(50);
  }
  return samples;
}

type Measured = { variant: Variant; rate: number; result: FixedRateResult; overheads: number[]; bffCpuMs: number; cached: number; legs: [number[], number[]] };

export async function overhead(ctx: BenchContext): Promise<Section> {
  const proxy = await createFaultProxy({ upstreamPort: ctx.services.products.port, mode: { kind: "slow", ms: DELAY_MS } });
  const started: RunningApp[] = [];
  const runs: Measured[] = [];
  try {
    const slowInventory = await startApp(
      "inventory",
      { ...ctx.appEnv, INVENTORY_DATABASE_URL: ctx.dbUrls.inventory, USERS_URL: ctx.services.users.url, INVENTORY_DELAY_MS: String(DELAY_MS) },
      "inventory-delay50",
    );
    started.push(slowInventory);
    for (const variant of VARIANTS) {
      const rate = variant.rate(ctx);
      if (!Number.isFinite(rate)) continue;
      const bff = await startBff(
        ctx.appEnv,
        { ...upstreamUrls(ctx.services), products: `http://127.0.0.1:${proxy.port}`, inventory: slowInventory.url },
        variant.settings,
        `bff-overhead-${VARIANTS.indexOf(variant) + 1}`,
      );
      try {
        const url = `${bff.url}/products/all`;
        const until = Date.now() + (WARM_UP_S + ctx.runS) * 1000;
        const cpu = watchCpu([bff.pid]);
        const [result, productsLeg, inventoryLeg] = await Promise.all([
          runFixedRate({ url, header: ctx.userHeader, rate, durationS: ctx.runS, warmupS: WARM_UP_S }),
          sampleLeg(`http://127.0.0.1:${proxy.port}/products?limit=100`, until),
          sampleLeg(`${slowInventory.url}/inventory?ids=1,2,3,4,5,6,7,8,9,10`, until),
        ]);
        // CPU over warm-up and run; per answer of both.
        const bffCpuMs = cpu.stop().perPid.get(bff.pid)! / Math.max(1, result.answered + rate * WARM_UP_S);
        const overheads: number[] = [];
        let cached = 0;
        result.latencies.forEach((latency, i) => {
          const timing = result.serverTimings[i] ?? "";
          const waited = upstreamWaitMs(timing);
          overheads.push(waited === null ? latency - FLOOR_MS : latency - waited);
          if (/products;[^,]*desc="cache"/.test(timing)) cached++;
        });
        runs.push({ variant, rate, result, overheads, bffCpuMs, cached, legs: [productsLeg, inventoryLeg] });
      } finally {
        await bff.stop();
      }
    }
  } finally {
    for (const app of started.reverse()) await app.stop();
    await proxy.close();
  }

  const targets: TargetRow[] = runs
    .filter((r) => r.variant.judged)
    .flatMap(({ overheads }) => [
      atMost(NAME, "BFF overhead p50 (latency - upstream wait)", percentile(overheads, 50), 2, "ms", ms(percentile(overheads, 50), 2)),
      atMost(NAME, "BFF overhead p99 (latency - upstream wait)", percentile(overheads, 99), 10, "ms", ms(percentile(overheads, 99), 2)),
    ]);
  const noTiming = runs.some((r) => r.result.serverTimings.some((t) => t === ""));
  const leg = (name: string, s: number[]) => [name, String(s.length), ms(percentile(s, 50)), ms(percentile(s, 99)), ms(Math.max(...s))];
  const judged = runs.find((r) => r.variant.judged);

  return {
    title: NAME,
    targets,
    body: [
      `products behind shared/src/testing/fault-proxy.ts in slow mode (${DELAY_MS} ms added to every request), inventory started with`,
      `INVENTORY_DELAY_MS=${DELAY_MS}; cart and favorites direct. Load: bench/fixed-rate.ts at a fixed rate, half of a peak from scenario 1`,
      `(median ${num(ctx.peakRps)}/s; many-users run ${num(ctx.manyUsersRps)}/s), open loop (sent on schedule whatever the answers do), in its`,
      `own process, after a ${WARM_UP_S} s warm-up. Plain wrk has no fixed rate; this generator uses raw keep-alive sockets.`,
      "",
      "Overhead = each listing's latency minus the time the BFF waited on upstreams, from its Server-Timing header:",
      "the longest of products/cart/favorites (called together), plus inventory (called after). The BFF now shares",
      "concurrent identical calls (single flight) and caches products, so a listing often waits less than 2 x 50 ms;",
      '"latency - 100 ms" (the issue\'s wording) is shown as well and then understates the overhead (it can go below 0).',
      `The target is judged on the first row (${Object.entries(CACHE_OFF).map(([k, v]) => `${k}=${v}`).join(", ")}: products is called for every`,
      "listing, as the scenario intends, at half of scenario 1's peak as the issue says). The other rows are for reading it:",
      "scenario 1's peak is that of identical user-1 listings sharing upstream calls, so half of it is more than the",
      "BFF serves with products on the path; half of the many-users run is a rate it can carry.",
      ...(noTiming ? ["", "**Some answers had no Server-Timing header: for those, latency - 100 ms was used.**"] : []),
      "",
      ...table(
        ["BFF, load", "rate asked", "listings/s", "p50", "p99", "max", "overhead p50", "overhead p90", "overhead p99", "latency - 100 p50", "latency - 100 p99", "products from cache", "non-200", "errors", "BFF CPU/listing", "send lag p99"],
        runs.map(({ variant, rate, result: r, overheads, bffCpuMs, cached }) => [
          variant.label,
          num(rate),
          num(r.rate),
          ms(percentile(r.latencies, 50)),
          ms(percentile(r.latencies, 99)),
          ms(Math.max(...r.latencies)),
          ms(percentile(overheads, 50), 2),
          ms(percentile(overheads, 90), 2),
          ms(percentile(overheads, 99), 2),
          ms(percentile(r.latencies, 50) - FLOOR_MS),
          ms(percentile(r.latencies, 99) - FLOOR_MS),
          `${num((100 * cached) / Math.max(1, r.answered))} %`,
          String(r.answered - (r.statuses["200"] ?? 0)),
          String(r.errors),
          ms(bffCpuMs, 3),
          ms(r.sendLagP99, 2),
        ]),
      ),
      "",
      "The upstream legs on their own, one request at a time from the bench process during the cache-off run",
      "(their time above 50 ms is the proxy's and the services', not the BFF's):",
      "",
      ...(judged ? table(["leg", "samples", "p50", "p99", "max"], [leg("products via latency proxy", judged.legs[0]), leg("inventory with INVENTORY_DELAY_MS=50", judged.legs[1])]) : []),
    ],
  };
}
