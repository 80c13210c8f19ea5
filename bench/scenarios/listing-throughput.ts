// Scenario 1: listing throughput with fast upstreams, ours against the peer at the same connection count,
// alternately (ours, peer, ours, peer, ...), medians reported. Also records where the CPU goes (per app, per
// listing) and every app's peak RSS for scenario 5.
import { NOT_DEGRADED, type BenchContext } from "../context.ts";
import { pidsNamed, sampleRss, tcpActiveOpens, watchCpu } from "../proc.ts";
import { atLeast, atMost, mb, ms, num, skipped, table, type Section } from "../report.ts";
import { median } from "../stats.ts";
import { requestsAnswered } from "../metrics.ts";
import { bearer } from "../tokens.ts";
import { runWrk, socketErrors, type WrkResult } from "../wrk.ts";

const NAME = "1. listing throughput";
const CONNECTIONS = 32;
const ROUNDS = 3;
const WARM_UP_S = 3;
const MANY_USERS = 1000;

type Listing = { cart_items: number | null; favorite_items: number | null; products: unknown[]; degraded?: string[] };
type Run = { wrk: WrkResult; cpuMsPerListing: Map<string, number>; machineBusy: number; connectsPerListing: number; upstreamPerListing: number };

async function checkListing(url: string, headers: Record<string, string>, who: string) {
  const res = await fetch(url, { headers });
  const body = (await res.json()) as Listing;
  const ok = res.status === 200 && body.products.length === 10 && body.cart_items === 3 && body.favorite_items === 3 && (body.degraded ?? []).length === 0;
  if (!ok) throw new Error(`${who}'s listing is not the expected one (10 products, cart 3, favorites 3): ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
}

/** One wrk run while watching the CPU and RSS of `apps` (pid -> name), Postgres's backends, wrk and the machine. */
async function measured(
  apps: Map<number, string>,
  peakRss: Map<string, number>,
  run: () => Promise<WrkResult>,
  upstreamRequests: () => Promise<number> = async () => Number.NaN,
): Promise<Run> {
  const pids = [...apps.keys()];
  const postgres = pidsNamed("postgres");
  const rss = sampleRss(pids);
  const cpu = watchCpu([...pids, ...postgres]);
  const opens = tcpActiveOpens();
  const requestsBefore = await upstreamRequests();
  const wrk = await run();
  const connectsPerListing = (tcpActiveOpens() - opens) / Math.max(1, wrk.requests);
  const upstreamPerListing = ((await upstreamRequests()) - requestsBefore) / Math.max(1, wrk.requests);
  const { perPid, machineBusy, machineBusyMs } = cpu.stop();
  for (const [pid, peak] of rss.stop()) {
    const name = apps.get(pid)!;
    peakRss.set(name, Math.max(peakRss.get(name) ?? 0, peak));
  }
  const perListing = (used: number) => used / Math.max(1, wrk.requests);
  const cpuMsPerListing = new Map<string, number>();
  let accounted = wrk.cpuMs;
  for (const [pid, used] of perPid) {
    if (!Number.isFinite(used)) continue; // a backend that ended during the run
    const name = apps.get(pid) ?? "postgres";
    cpuMsPerListing.set(name, (cpuMsPerListing.get(name) ?? 0) + perListing(used));
    accounted += used;
  }
  cpuMsPerListing.set("wrk", perListing(wrk.cpuMs));
  cpuMsPerListing.set("rest", perListing(Math.max(0, machineBusyMs - accounted)));
  return { wrk, cpuMsPerListing, machineBusy, connectsPerListing, upstreamPerListing };
}

export async function listingThroughput(ctx: BenchContext): Promise<Section> {
  const ourUrl = `${ctx.bff.url}/products/all`;
  await checkListing(ourUrl, bearer(await ctx.tokens.user(1)), "our BFF");
  if (ctx.peer) await checkListing(ctx.peer.listingUrl, {}, "the peer");

  const ourApps = new Map<number, string>([...Object.values(ctx.services), ctx.bff].map((a) => [a.pid, a.name]));
  // The peer's five processes count as one: its per-listing CPU is what matters.
  const peerApps = new Map<number, string>((ctx.peer?.pids ?? []).map((pid, i) => [pid, `peer-${i}`]));
  const ours: Run[] = [];
  const peer: Run[] = [];
  const servicesAnswered = async () => (await Promise.all(Object.values(ctx.services).map((s) => requestsAnswered(s.url)))).reduce((a, b) => a + b, 0);
  const runOurs = (durationS: number, userTokens?: string[]) =>
    measured(
      ourApps,
      ctx.loadRss,
      () => runWrk({ url: ourUrl, connections: CONNECTIONS, durationS, header: userTokens ? undefined : ctx.userHeader, bodyMark: NOT_DEGRADED, userTokens }),
      servicesAnswered,
    );
  const runPeer = (durationS: number) => measured(peerApps, ctx.peerLoadRss, () => runWrk({ url: ctx.peer!.listingUrl, connections: CONNECTIONS, durationS }));

  // Warm-up (JIT, connection pools), not recorded.
  await runOurs(WARM_UP_S);
  if (ctx.peer) await runPeer(WARM_UP_S);
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(await runOurs(ctx.runS));
    if (ctx.peer) peer.push(await runPeer(ctx.runS));
  }
  // Not judged: every listing above is user 1's, so concurrent listings can share upstream calls; with many
  // users they cannot share cart and favorites.
  const manyUsers = await runOurs(ctx.runS, await ctx.tokens.users(MANY_USERS));
  ctx.manyUsersRps = manyUsers.wrk.rps;

  const oursRps = median(ours.map((r) => r.wrk.rps));
  const peerRps = peer.length ? median(peer.map((r) => r.wrk.rps)) : Number.NaN;
  const oursP99 = median(ours.map((r) => r.wrk.latency.p99));
  const ratio = oursRps / peerRps;
  ctx.peakRps = oursRps;

  const NOT_THE_STACK = new Set(["postgres", "wrk", "rest"]);
  const totalCpu = (r: Run) => [...r.cpuMsPerListing].reduce((sum, [name, v]) => (NOT_THE_STACK.has(name) ? sum : sum + v), 0);
  const row = (who: string, i: number, r: Run, complete: boolean) => [
    who,
    String(i + 1),
    num(r.wrk.rps),
    ms(r.wrk.latency.p50),
    ms(r.wrk.latency.p99),
    ms(r.wrk.latency.max),
    num(r.wrk.requests),
    String(r.wrk.requests - (r.wrk.statuses["200"] ?? 0)),
    String(socketErrors(r.wrk)),
    complete ? `${num((100 * r.wrk.marked) / Math.max(1, r.wrk.requests), 2)} %` : "n/a",
    ms(totalCpu(r), 2),
    `${num(100 * r.machineBusy)} %`,
    num(r.connectsPerListing, 2),
    who === "peer" ? "13 (by design)" : num(r.upstreamPerListing, 2),
  ];
  const rows: string[][] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (ours[i]) rows.push(row("ours", i, ours[i]!, true));
    if (peer[i]) rows.push(row("peer", i, peer[i]!, false));
  }
  const manyUsersRow = row(`ours, users 1-${MANY_USERS}`, 0, manyUsers, true);
  manyUsersRow[1] = "extra";
  rows.push(manyUsersRow);
  const medians = (rs: Run[]) => [num(median(rs.map((r) => r.wrk.rps))), ms(median(rs.map((r) => r.wrk.latency.p50))), ms(median(rs.map((r) => r.wrk.latency.p99)))];
  const cpuOf = (runs: Run[], name: string) => median(runs.map((r) => r.cpuMsPerListing.get(name) ?? Number.NaN));
  const appNames = [...ourApps.values()];
  const columns = [...appNames, "postgres", "wrk", "rest"];

  return {
    title: NAME,
    targets: [
      ctx.peer
        ? atLeast(NAME, "our listings/s over the peer's (medians)", ratio, 20, "x", `${num(ratio, 1)}x (${num(oursRps)}/s vs ${num(peerRps)}/s)`)
        : skipped(NAME, "our listings/s over the peer's", ">= 20x", ctx.peerMissing ?? "peer not run"),
      atMost(NAME, "our p99 (median of rounds)", oursP99, 25, "ms", ms(oursP99)),
    ],
    body: [
      `wrk, 1 thread, ${CONNECTIONS} connections, ${ctx.runS} s per run, ${ROUNDS} rounds run alternately (ours, peer, ours, ...) after a ${WARM_UP_S} s warm-up of each.`,
      `Ours: \`GET /products/all\` with \`authorization: Bearer <user 1's token>\` on the BFF with default settings (rate limits counted in`,
      `${ctx.redisUrl ? "Redis" : "memory: no Redis answered"}, their quotas set out of reach); the peer: \`GET /products/all?user_id=1\`. Ours checks the token`,
      "(the BFF, then cart and favorites, each verifying it once and then remembering it) and counts the request against the user's",
      "rate limit; the peer trusts the user id in the query and does neither, so the ratio includes that cost (scenario 6 measures it).",
      "Both list the same 10 products with cart 3 and favorites 3 (checked before the runs): products 11 and 12 of our seed are",
      "deleted from bench_products after its migrations, so the default request (no `?limit`) is the one measured.",
      "\"complete\": share of our answers with `\"degraded\":[]` (nothing dropped by a deadline). \"CPU/listing\": CPU time of the",
      "stack's processes (ours: the six apps, users included though it is not called per listing; the peer: its five) per answer,",
      "from /proc/<pid>/stat; Postgres and wrk not included.",
      "\"machine busy\": all cores, from /proc/stat, whatever ran (other work on the machine included). \"TCP connects/listing\":",
      "new TCP connections opened on the machine per answer (ActiveOpens in /proc/net/snmp): with keep-alive working, about 0.",
      "\"upstream requests/listing\": requests our five services answered per listing (their /metrics http_requests_total).",
      `The "extra" row is not judged: each request carries the token of a random user in 1-${MANY_USERS} (minted beforehand, picked by a`,
      "wrk request() hook), so concurrent listings cannot share cart and favorites calls the way identical user-1 listings can, and",
      `each app verifies ${MANY_USERS} tokens once before it remembers them.`,
      "",
      ...table(["stack", "round", "listings/s", "p50", "p99", "max", "answers", "non-200", "socket errors", "complete", "CPU/listing", "machine busy", "TCP connects/listing", "upstream requests/listing"], rows),
      "",
      ...table(["median", "listings/s", "p50", "p99"], [["ours", ...medians(ours)], ...(peer.length ? [["peer", ...medians(peer)]] : [])]),
      "",
      "Where the CPU goes, per listing (median of rounds). postgres: every Postgres backend on the machine; rest: the",
      "machine's busy time not accounted for by these processes (kernel network work, other processes running meanwhile).",
      "",
      ...table(
        ["stack", "apps together", ...columns],
        [
          ["ours", ms(median(ours.map(totalCpu)), 3), ...columns.map((n) => ms(cpuOf(ours, n), 3))],
          ...(peer.length
            ? [["peer", ms(median(peer.map(totalCpu)), 3), ...columns.map((n) => (appNames.includes(n) ? "–" : ms(cpuOf(peer, n), 3)))]]
            : []),
        ],
      ),
      "",
      ...table(["app", ...appNames], [["peak RSS", ...appNames.map((n) => mb(ctx.loadRss.get(n) ?? Number.NaN))]]),
    ],
  };
}
