// Scenario 3: deadline precision. products is blackholed (accepts, never answers), so every listing ends in the
// 504 of PRODUCTS_DEADLINE_MS (1 s); its latency at 32 and at 300 connections shows how late the deadline fires,
// including when Bun's fetch queues beyond its 256 in-flight requests. A fresh BFF per load, with no stale copy
// (PRODUCTS_STALE_MAX_MS=0) and a breaker that cannot open (BREAKER_MIN_CALLS huge): the deadline is measured,
// not the stale copy or the breaker.
import type { BenchContext } from "../context.ts";
import { createFaultProxy } from "../../shared/src/testing/fault-proxy.ts";
import { atMost, ms, num, table, type Section, type TargetRow } from "../report.ts";
import { startBff, upstreamUrls } from "../stack.ts";
import { watchCpu } from "../proc.ts";
import { runWrk, socketErrors, type WrkResult } from "../wrk.ts";

const NAME = "3. deadline";
const LOADS = [32, 300];
// The diagnostic variant: each connection waits a random 0-50 ms before each request, which breaks the lockstep.
const DESYNC_PACE_MS = 25;

type Variant = "lockstep" | "desynchronised";
type Result = { connections: number; variant: Variant; result: WrkResult; accepted: number; bffCpuMs: number };
export const DEADLINE_ONLY_SETTINGS = { PRODUCTS_STALE_MAX_MS: "0", BREAKER_MIN_CALLS: "1000000000" };

export async function deadline(ctx: BenchContext): Promise<Section> {
  const proxy = await createFaultProxy({ upstreamPort: ctx.services.products.port, mode: { kind: "blackhole" } });
  const results: Result[] = [];
  try {
    for (const connections of LOADS) {
      for (const variant of ["lockstep", "desynchronised"] as const) {
        const bff = await startBff(
          ctx.appEnv,
          { ...upstreamUrls(ctx.services), products: `http://127.0.0.1:${proxy.port}` },
          DEADLINE_ONLY_SETTINGS,
          `bff-deadline-${connections}-${variant}`,
        );
        try {
          const url = `${bff.url}/products/all`;
          // Warm-up (JIT, connections to cart and favorites); then let its abandoned listings reach their deadline.
          await runWrk({ url, connections: 32, durationS: 2, header: ctx.userHeader, timeoutS: 10 });
          await Bun.sleep(1_500);
          proxy.resetCounts();
          const cpu = watchCpu([bff.pid]);
          const paceMs = variant === "desynchronised" ? DESYNC_PACE_MS : undefined;
          const result = await runWrk({ url, connections, durationS: ctx.runS, header: ctx.userHeader, timeoutS: 10, paceMs });
          const bffCpuMs = cpu.stop().perPid.get(bff.pid)! / Math.max(1, result.requests);
          results.push({ connections, variant, result, accepted: proxy.accepted, bffCpuMs });
        } finally {
          await bff.stop();
        }
      }
    }
  } finally {
    await proxy.close();
  }

  // Judged on plain wrk (the issue's setup); the desynchronised runs are there to read the result.
  const targets: TargetRow[] = results.filter((r) => r.variant === "lockstep").flatMap(({ connections, result }) => [
    atMost(NAME, `504 latency p50 at ${connections} conns`, result.latency.p50, 1005, "ms", ms(result.latency.p50)),
    atMost(NAME, `504 latency p99 at ${connections} conns`, result.latency.p99, 1020, "ms", ms(result.latency.p99)),
    atMost(NAME, `504 latency max at ${connections} conns`, result.latency.max, 1100, "ms", ms(result.latency.max)),
  ]);
  const statuses = (r: WrkResult) =>
    Object.entries(r.statuses)
      .map(([code, n]) => `${code}: ${n}`)
      .join(", ");
  return {
    title: NAME,
    targets,
    body: [
      "products behind shared/src/testing/fault-proxy.ts in blackhole mode; PRODUCTS_DEADLINE_MS=1000 (default); a fresh BFF per load with",
      `${Object.entries(DEADLINE_ONLY_SETTINGS).map(([k, v]) => `${k}=${v}`).join(", ")}; wrk ${ctx.runS} s per load, 1 thread,`,
      "timeout 10 s (so a late answer is measured, not dropped). BUN_CONFIG_MAX_HTTP_REQUESTS left at Bun's default (256).",
      "Each load starts with a 2 s warm-up at 32 connections and a 1.5 s pause (so its abandoned listings are over).",
      "\"connections at products\" is what the blackhole accepted: each products call that got as far as a socket (the BFF",
      "shares one call among concurrent identical listings, so this can be far below the number of listings).",
      "wrk's connections move in lockstep here (all answered at the same deadline, all sent again at once), so every second",
      "the BFF has to answer a burst of 504s together: the last of a burst waits for the ones before it. The targets are judged",
      `on these plain runs; the "desynchronised" runs (each connection waits a random 0-${2 * DESYNC_PACE_MS} ms before each request, a fresh`,
      "BFF each) show how much of the lateness is that burst rather than the timer.",
      "",
      ...table(
        ["connections", "load", "answers", "answers/s", "p50", "p90", "p99", "max", "statuses", "socket errors", "connections at products", "BFF CPU/answer"],
        results.map(({ connections, variant, result: r, accepted, bffCpuMs }) => [
          String(connections),
          variant,
          num(r.requests),
          num(r.rps, 1),
          ms(r.latency.p50),
          ms(r.latency.p90),
          ms(r.latency.p99),
          ms(r.latency.max),
          statuses(r),
          String(socketErrors(r)),
          num(accepted),
          ms(bffCpuMs, 3),
        ]),
      ),
    ],
  };
}
