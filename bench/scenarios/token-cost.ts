// Scenario 6: what the token checks cost on the listing. The BFF of BEFORE_COMMIT (the last commit before
// identity: it trusts x-user-id) from a temporary git worktree, against the current BFF with user 1's Bearer
// token and its rate limits counted in Redis, and once more with Redis unreachable (counted in memory) so the
// Redis call's share shows. All on the same static upstream stubs (upstream-stubs.ts: no database, no token
// check), products cache at its default for all, alternated in rounds, medians. Then, in this process, µs per
// verify() with the verified-token cache off and on, which says how much of the difference is the signature.
import { createTokenVerifier, type TokenVerifier } from "../../shared/src/auth/token-verifier.ts";
import { localKeys } from "../../shared/src/auth/remote-keys.ts";
import { NOT_DEGRADED, type BenchContext } from "../context.ts";
import { watchCpu } from "../proc.ts";
import { num, ms, skipped, table, type Section, type TargetRow } from "../report.ts";
import { freePort, startBff, type RunningApp } from "../stack.ts";
import { median } from "../stats.ts";
import { bearer, bearerHeader } from "../tokens.ts";
import { startUpstreamStubs, STUB_LINES, STUB_PRODUCTS, type UpstreamStubs } from "../upstream-stubs.ts";
import { checkoutWorktree, type Worktree } from "../worktree.ts";
import { runWrk, socketErrors, type WrkResult } from "../wrk.ts";

const NAME = "6. token cost";
/** The last commit before identity (its successors bring tokens): its BFF takes the user from x-user-id. */
export const BEFORE_COMMIT = "3752152";
const CONNECTIONS = 32;
const ROUNDS = 3;
const VERIFY_ITERATIONS = 10_000;
const VERIFY_WARM_UP = 1_000;

type Variant = { key: "before" | "after" | "memory"; label: string; bff: RunningApp; headers: Record<string, string>; header: string };
type Run = { wrk: WrkResult; bffCpuMs: number; upstreamPerListing: number };

async function checkListing(url: string, headers: Record<string, string>, who: string) {
  const res = await fetch(url, { headers });
  const body = (await res.json()) as { products?: unknown[]; cart_items?: number; favorite_items?: number; degraded?: unknown[] };
  const ok =
    res.status === 200 && body.products?.length === STUB_PRODUCTS && body.cart_items === STUB_LINES && body.favorite_items === STUB_LINES && body.degraded?.length === 0;
  if (!ok) throw new Error(`${who}'s listing on the stubs is not the expected one: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
}

/** µs per verify() of `token`, after a warm-up: every call a full Ed25519 verification when the cache is off. */
async function usPerVerify(verifier: TokenVerifier, token: string, iterations: number): Promise<number> {
  for (let i = 0; i < VERIFY_WARM_UP; i++) await verifier.verify(token);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await verifier.verify(token);
  return ((performance.now() - t0) * 1000) / iterations;
}

export async function tokenCost(ctx: BenchContext): Promise<Section> {
  const token = await ctx.tokens.user(1);
  // In-process first: it needs neither the old code nor wrk.
  const keys = await localKeys([ctx.tokens.publicJwk]);
  const uncachedUs = await usPerVerify(createTokenVerifier({ keys, cacheSize: 0 }), token, VERIFY_ITERATIONS);
  const cachedUs = await usPerVerify(createTokenVerifier({ keys }), token, VERIFY_ITERATIONS);

  let tree: Worktree;
  try {
    tree = await checkoutWorktree(BEFORE_COMMIT);
  } catch (err) {
    const why = (err as Error).message;
    return {
      title: NAME,
      targets: [skipped(NAME, "listings/s after/before (medians)", "(noted, no target)", why)],
      body: [`Not measured: the BFF of ${BEFORE_COMMIT} could not be set up (${why}).`, "", ...verifyTable(uncachedUs, cachedUs)],
    };
  }
  let stubs: UpstreamStubs | null = null;
  const started: RunningApp[] = [];
  try {
    stubs = await startUpstreamStubs(ctx.tokens.publicJwk);
    const start = async (label: string, env: Record<string, string>, root?: string) => {
      const bff = await startBff(env, stubs!.urls, {}, label, { root });
      started.push(bff);
      return bff;
    };
    const variants: Variant[] = [];
    const before = await start("bff-before", ctx.appEnv, tree.dir);
    variants.push({ key: "before", label: `${BEFORE_COMMIT}, x-user-id: 1`, bff: before, headers: { "x-user-id": "1" }, header: "x-user-id: 1" });
    if (ctx.redisUrl) {
      const after = await start("bff-after", ctx.appEnv);
      variants.push({ key: "after", label: "now, Bearer token, rate limits in Redis", bff: after, headers: bearer(token), header: bearerHeader(token) });
    }
    // A port nothing listens on: every rate-limit hit goes straight to the in-memory insurance limiter.
    const memory = await start("bff-after-memory", { ...ctx.appEnv, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    variants.push({ key: "memory", label: "now, Bearer token, Redis unreachable (rate limits in memory)", bff: memory, headers: bearer(token), header: bearerHeader(token) });

    for (const v of variants) await checkListing(`${v.bff.url}/products/all`, v.headers, v.label);
    const measure = async (v: Variant, durationS: number): Promise<Run> => {
      const cpu = watchCpu([v.bff.pid]);
      const requestsBefore = stubs!.requests();
      const wrk = await runWrk({ url: `${v.bff.url}/products/all`, connections: CONNECTIONS, durationS, header: v.header, bodyMark: NOT_DEGRADED });
      const listings = Math.max(1, wrk.requests);
      return { wrk, bffCpuMs: cpu.stop().perPid.get(v.bff.pid)! / listings, upstreamPerListing: (stubs!.requests() - requestsBefore) / listings };
    };
    // Warm-up (JIT, keep-alive pools, the JWKS fetch, the first verification), not recorded.
    for (const v of variants) await measure(v, ctx.quick ? 1 : 3);
    const runs = new Map<Variant["key"], Run[]>(variants.map((v) => [v.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another variant, so that none always runs first.
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(round + i) % variants.length]!;
        runs.get(v.key)!.push(await measure(v, ctx.runS));
      }
    }
    return report(ctx, variants, runs, uncachedUs, cachedUs);
  } finally {
    for (const bff of started) await bff.stop();
    await stubs?.close();
    await tree.remove();
  }
}

function verifyTable(uncachedUs: number, cachedUs: number): string[] {
  return [
    `verify() in this process, ${num(VERIFY_ITERATIONS)} calls each after ${num(VERIFY_WARM_UP)} of warm-up, user 1's token (EdDSA, as the users service signs):`,
    "",
    ...table(
      ["verifier", "µs per verify()"],
      [
        ["`createTokenVerifier({ keys, cacheSize: 0 })`: a full Ed25519 verification and claim checks every call", num(uncachedUs, 1)],
        ["`createTokenVerifier({ keys })` (default, 10,000 tokens remembered until they expire): a map lookup after the first", num(cachedUs, 2)],
      ],
    ),
  ];
}

function report(ctx: BenchContext, variants: Variant[], runs: Map<Variant["key"], Run[]>, uncachedUs: number, cachedUs: number): Section {
  const med = (key: Variant["key"], f: (r: Run) => number) => median((runs.get(key) ?? []).map(f));
  const rps = (key: Variant["key"]) => med(key, (r) => r.wrk.rps);
  const cpuUs = (key: Variant["key"]) => 1000 * med(key, (r) => r.bffCpuMs);
  const after: Variant["key"] = runs.has("after") ? "after" : "memory";
  const ratio = rps(after) / rps("before");
  const extraCpuUs = cpuUs(after) - cpuUs("before");
  const redisShareUs = runs.has("after") ? cpuUs("after") - cpuUs("memory") : Number.NaN;
  const rows: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const r = runs.get(v.key)![round];
      if (!r) continue;
      rows.push([
        v.label,
        String(round + 1),
        num(r.wrk.rps),
        ms(r.wrk.latency.p50, 2),
        ms(r.wrk.latency.p99, 2),
        num(r.wrk.requests),
        String(r.wrk.requests - (r.wrk.statuses["200"] ?? 0)),
        String(socketErrors(r.wrk)),
        `${num((100 * r.wrk.marked) / Math.max(1, r.wrk.requests), 1)} %`,
        num(1000 * r.bffCpuMs, 0),
        num(r.upstreamPerListing, 2),
      ]);
    }
  }
  const medianRows = variants.map((v) => [
    v.label,
    num(rps(v.key)),
    ms(med(v.key, (r) => r.wrk.latency.p50), 2),
    ms(med(v.key, (r) => r.wrk.latency.p99), 2),
    num(cpuUs(v.key), 0),
    v.key === "before" ? "1.00x" : `${num(rps(v.key) / rps("before"), 2)}x`,
  ]);
  const targets: TargetRow[] = [
    {
      scenario: NAME,
      metric: `listings/s after/before (medians; before = ${BEFORE_COMMIT}'s BFF, after = now${runs.has("after") ? ", Redis" : ", no Redis"})`,
      target: "(noted, no target)",
      measured: `${num(ratio, 2)}x (${num(rps(after))}/s vs ${num(rps("before"))}/s)`,
      met: null,
    },
    {
      scenario: NAME,
      metric: "BFF CPU per listing, after - before (medians)",
      target: "(noted, no target)",
      measured: `${extraCpuUs >= 0 ? "+" : ""}${num(extraCpuUs, 0)} µs (${num(cpuUs(after), 0)} vs ${num(cpuUs("before"), 0)} µs)`,
      met: null,
    },
  ];
  const reading = [
    `Reading: the current BFF answers ${num(ratio, 2)}x the listings/s of ${BEFORE_COMMIT}'s on the same stubs and uses ${num(extraCpuUs, 0)} µs more`,
    `CPU per listing (${num(cpuUs(after), 0)} vs ${num(cpuUs("before"), 0)} µs).`,
    runs.has("after")
      ? `Of that, counting the request in Redis accounts for about ${num(redisShareUs, 0)} µs (the difference between the Redis and the Redis-unreachable rows, memory limiter; within noise when near 0): far from its quota a key's hits reach Redis in batches (apps/bff/src/middleware/batched-counter.ts), one consume per 100 ms here, not one round trip per listing.`
      : "Redis did not answer, so only the memory limiter was measured; the Redis call's share is not known from this run.",
    `The token itself costs little here: the BFF verifies user 1's token once (a full verification is ${num(uncachedUs, 0)} µs in this process) and then`,
    `finds it in its verified-token cache (${num(cachedUs, 2)} µs per lookup), as a client reusing its access token makes it do; a new token costs the full`,
    "verification once per BFF process, not per request. The rest of the difference is whatever else the BFF now does per request, all of it",
    `added since ${BEFORE_COMMIT} with identity: secure headers and a body limit on every request, the token and rate-limit middleware and the`,
    "RateLimit headers on each answer, the Authorization header passed on to cart and favorites (a larger request each), and routes built",
    "with @hono/zod-openapi. The stubs check no token, so what cart and favorites spend verifying it (in scenario 1's stack) is not in these",
    "numbers.",
  ].join(" ");

  return {
    title: NAME,
    targets,
    body: [
      `Before: the BFF of commit ${BEFORE_COMMIT} (the last one before identity; it takes the user from \`x-user-id\` and has no rate limits), checked out`,
      "with `git worktree add --detach` in a temporary folder, `bun install --frozen-lockfile` there, started as `bun <worktree>/apps/bff/src/index.ts`,",
      "and removed after. After: the BFF of this tree with `authorization: Bearer <user 1's token>` (signed with the run's key, 1 h),",
      runs.has("after")
        ? "its rate limits counted in Redis (the run's prefix, quotas out of reach: every request makes the Redis call, none is refused), and once more with"
        : "and no Redis answered at REDIS_URL, so it ran only with",
      "REDIS_URL on a closed port, so that every rate-limit hit goes to the in-memory insurance limiter.",
      `${variants.length === 3 ? "All three" : "Both"} on the same upstream stubs in the bench process (bench/upstream-stubs.ts: ${STUB_PRODUCTS} products, their stock, ${STUB_LINES} cart lines`,
      `and ${STUB_LINES} favorites for any user, the JWKS; no database, no token check), every other setting at its default, the products cache`,
      "included (on for all: 1 s fresh, 5 s stale-while-revalidate). A listing needs cart, favorites and inventory, and products about once a",
      "second; concurrent identical calls are shared, hence well under one \"upstream call/listing\" (requests the stubs answered per listing).",
      `wrk, 1 thread, ${CONNECTIONS} connections, ${ctx.runS} s per run, ${ROUNDS} rounds, the variants alternated (each round starting with the next one) after`,
      `a ${ctx.quick ? 1 : 3} s warm-up of each. "BFF CPU/listing": the BFF process's CPU time (/proc/<pid>/stat) per answer, the least noisy figure`,
      "on a busy machine. The stubs answer from memory, so the BFFs here answer far more listings/s than scenario 1's on real services.",
      "",
      ...table(["BFF", "listings/s", "p50", "p99", "BFF CPU/listing (µs)", "listings/s vs before"], medianRows),
      "",
      ...table(["BFF", "round", "listings/s", "p50", "p99", "answers", "non-200", "socket errors", "complete", "BFF CPU/listing (µs)", "upstream calls/listing"], rows),
      "",
      ...verifyTable(uncachedUs, cachedUs),
      "",
      reading,
    ],
  };
}
