// Scenario 4: the open breaker. products refuses connections until its breaker opens; then the listing must be
// answered at once (503 with Retry-After) and nothing may reach products. To count what reaches it, the fault
// proxy then listens again but resets every connection it accepts (a closed port cannot count attempts): the
// BFF sees the same kind of network failure, and any probe or leak shows up as an accepted connection.
import type { BenchContext } from "../context.ts";
import { createFaultProxy } from "../../shared/src/testing/fault-proxy.ts";
import { atMost, ms, num, table, type Section } from "../report.ts";
import { startBff, upstreamUrls } from "../stack.ts";
import { bearer } from "../tokens.ts";
import { watchCpu } from "../proc.ts";
import { runWrk, socketErrors, type WrkResult } from "../wrk.ts";

const NAME = "4. open breaker";
const CONNECTIONS = 32;
const PACE_MS = 10;

type Load = { label: string; connections: number; paceMs?: number };
// Long enough that the breaker does not turn half-open (and admit probes, by design) during the measurement.
const OPEN_SETTINGS = { PRODUCTS_STALE_MAX_MS: "0", BREAKER_OPEN_MS: "600000" };

type Snapshot = { upstreams: { name: string; state: string }[] };

export async function openBreaker(ctx: BenchContext): Promise<Section> {
  const proxy = await createFaultProxy({ upstreamPort: ctx.services.products.port, mode: { kind: "refused" } });
  const bff = await startBff(ctx.appEnv, { ...upstreamUrls(ctx.services), products: `http://127.0.0.1:${proxy.port}` }, OPEN_SETTINGS, "bff-open-breaker");
  try {
    const url = `${bff.url}/products/all`;
    const headers = bearer(await ctx.tokens.user(1));
    const opening: number[] = [];
    for (let i = 0; i < 50 && (await productsState(bff.url)) !== "open"; i++) {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      opening.push(res.status);
    }
    if ((await productsState(bff.url)) !== "open") throw new Error(`the products breaker did not open after ${opening.length} refused listings: ${opening.join(",")}`);
    const first = await fetch(url, { headers });
    const firstBody = await first.text();
    const retryAfter = first.headers.get("retry-after");

    await proxy.setMode({ kind: "reset" });
    proxy.resetCounts();
    const durationS = Math.max(2, ctx.runS / 2);
    const loads: Load[] = [
      { label: "1 connection", connections: 1 },
      { label: `${CONNECTIONS} conns paced (~${num((CONNECTIONS * 1000) / PACE_MS)}/s max)`, connections: CONNECTIONS, paceMs: PACE_MS },
      { label: `${CONNECTIONS} conns unpaced (saturating)`, connections: CONNECTIONS },
    ];
    const runs: { load: Load; result: WrkResult; bffCpuMs: number }[] = [];
    for (const load of loads) {
      const cpu = watchCpu([bff.pid]);
      const result = await runWrk({ url, connections: load.connections, durationS, header: ctx.userHeader, paceMs: load.paceMs });
      runs.push({ load, result, bffCpuMs: cpu.stop().perPid.get(bff.pid)! / Math.max(1, result.requests) });
    }
    const reached = proxy.accepted;
    const stateAfter = await productsState(bff.url);

    return {
      title: NAME,
      targets: [
        ...runs.flatMap(({ load, result }) => [
          atMost(NAME, `latency p50, ${load.label}`, result.latency.p50, 1, "ms", ms(result.latency.p50, 2)),
          atMost(NAME, `latency p99, ${load.label}`, result.latency.p99, 5, "ms", ms(result.latency.p99, 2)),
        ]),
        { scenario: NAME, metric: "connections that reached products (all runs)", target: "0", measured: num(reached), met: reached === 0 },
      ],
      body: [
        `products behind shared/src/testing/fault-proxy.ts with its port closed (refused); a fresh BFF with ${Object.entries(OPEN_SETTINGS)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")},`,
        `other breaker settings default. Listings sent one by one until /health/upstreams showed products open: ${opening.length} (statuses ${opening.join(", ")}).`,
        `Then: \`${first.status}\` with Retry-After \`${retryAfter}\`, body \`${firstBody.slice(0, 160)}\`.`,
        `Measured: wrk ${durationS} s per load, with the proxy listening again in reset mode so that attempts are counted.`,
        "No load is given in the issue, so three: one connection (the bare cost of a refused call); 32 connections each",
        `waiting a random 0-${2 * PACE_MS} ms between requests (a rate the BFF can serve without queueing); 32 connections flat out,`,
        "where the BFF's CPU is the limit and latency is connections / throughput (Little's law), not the breaker's cost.",
        "",
        ...table(
          ["load", "answers", "answers/s", "p50", "p90", "p99", "max", "statuses", "socket errors", "BFF CPU/answer"],
          runs.map(({ load, result, bffCpuMs }) => [
            load.label,
            num(result.requests),
            num(result.rps),
            ms(result.latency.p50, 2),
            ms(result.latency.p90, 2),
            ms(result.latency.p99, 2),
            ms(result.latency.max, 2),
            Object.entries(result.statuses)
              .map(([code, n]) => `${code}: ${n}`)
              .join(", "),
            String(socketErrors(result)),
            ms(bffCpuMs, 3),
          ]),
        ),
        "",
        `Connections the proxy accepted during the three runs: ${num(reached)}; breaker state after: ${stateAfter}.`,
      ],
    };
  } finally {
    await bff.stop();
    await proxy.close();
  }
}

async function productsState(bffUrl: string): Promise<string> {
  const res = await fetch(`${bffUrl}/health/upstreams`);
  const body = (await res.json()) as Snapshot;
  return body.upstreams.find((u) => u.name === "products")?.state ?? "unknown";
}
