// `bun run bench`: the benchmark suite. Creates fresh bench_* databases on BENCH_DATABASE_URL's server, starts
// our six apps (users first, with a signing key made for the run; tokens are signed here with the same key)
// and the seed's aiohttp peer, runs the scenarios (bench/scenarios/), writes bench/RESULTS.md, and stops
// everything, drops the databases, deletes the run's Redis keys and removes the worktree of scenario 6 at the
// end, also on error or Ctrl-C. Scenarios 8 (checkout) and 9 (the web app's home page) run last, each on a stack
// started afresh: 8 with orders and payments, 9 with notifications and the web app. Scenario 10 runs after them,
// with nothing of ours running: it starts `bun run dev` itself (and stops it, also on error or Ctrl-C).
// BENCH_QUICK=1 runs every measurement briefly (a smoke test of the suite; numbers not for keeping); BENCH_ONLY=8
// (or "1,8") runs only those scenarios and prints their results instead of writing RESULTS.md; see README.md.
import { rmSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { freshAuthSecrets } from "../scripts/auth.ts";
import { DEV_REDIS_URL, redisAnswers } from "../scripts/redis.ts";
import { deletePrefix } from "../shared/src/testing/test-redis.ts";
import type { BenchContext } from "./context.ts";
import { createBenchDatabases, createDatabases, DEFAULT_ADMIN_URL, dropBenchDatabases, dropDatabases, psql, trimCatalogueToTen } from "./databases.ts";
import { peerUnavailable, startPeer, type Peer } from "./peer.ts";
import { chaosSection, renderResults, withChaosSection, type Section } from "./report.ts";
import { loadAverage, machineBusyOver, rssMb } from "./proc.ts";
import { deadline } from "./scenarios/deadline.ts";
import { listingThroughput } from "./scenarios/listing-throughput.ts";
import { memory } from "./scenarios/memory.ts";
import { checkout } from "./scenarios/checkout.ts";
import { devStack, stopDevStacks } from "./scenarios/dev-stack.ts";
import { notifications } from "./scenarios/notifications.ts";
import { openBreaker } from "./scenarios/open-breaker.ts";
import { overhead } from "./scenarios/overhead.ts";
import { tokenCost } from "./scenarios/token-cost.ts";
import { fillCatalogue, webHome } from "./scenarios/web-home.ts";
import { benchLogDir, runEnv, startBff, startCheckoutStack, startServices, startWebStack, stopAll, upstreamUrls } from "./stack.ts";
import { bearerHeader, createTokenMint } from "./tokens.ts";
import { removeWorktrees } from "./worktree.ts";
import { wrkPath } from "./wrk.ts";

const RESULTS = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
// Used for scenario 2's load when scenario 1 did not give a peak.
const FALLBACK_PEAK_RPS = 2000;

const adminUrl = process.env.BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;
const quick = process.env.BENCH_QUICK === "1";
const SCENARIO_COUNT = 10;
/** BENCH_ONLY's scenarios, or null for all; read at the start of main(), which reports a bad value. */
let only: Set<number> | null = null;
/** Whether the scenario titled "<n>. ..." runs: all of them unless BENCH_ONLY names some. */
const selected = (title: string) => only === null || only.has(Number(title.split(".")[0]));
const redisUrl = process.env.REDIS_URL || DEV_REDIS_URL;
// The run's own Redis namespace: the BFF's rate-limit counters and any outbox jobs; deleted at the end.
const queuePrefix = `bench-${randomUUID().slice(0, 8)}`;
let redisUp = false;
const began = Date.now();
let peer: Peer | null = null;
let cleaning: Promise<void> | null = null;

const log = (msg: string) => console.log(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await peer?.stop().catch(() => {});
    await stopAll();
    await stopDevStacks();
    await removeWorktrees();
    await dropBenchDatabases(adminUrl);
    // Scenario 9's notifications database (only made when it runs with Redis); dropping one that is not there is fine.
    await dropDatabases(adminUrl, "bench", ["notifications"]);
    if (redisUp) await deletePrefix(redisUrl, queuePrefix).catch((err) => console.error(`bench: deleting ${queuePrefix}:* in Redis: ${(err as Error).message}`));
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  only = parseOnly(process.env.BENCH_ONLY);
  const postgres = await psql(adminUrl, "select current_setting('server_version')").catch((err) => {
    throw new Error(`no Postgres at BENCH_DATABASE_URL (${adminUrl}): ${(err as Error).message}`);
  });
  const hasWrk = wrkPath() !== null;
  if (!hasWrk) log("wrk is not installed: load scenarios are skipped. Install it with: apt-get install -y wrk");
  if (only) log(`BENCH_ONLY: scenario${only.size > 1 ? "s" : ""} ${[...only].join(", ")} only; RESULTS.md is left as it is`);
  // Only scenario 1 runs the peer.
  const peerMissing = selected("1.") ? await peerUnavailable() : "not run (BENCH_ONLY)";
  if (peerMissing && selected("1.")) log(`the peer will not run: ${peerMissing}`);
  redisUp = await redisAnswers(redisUrl);
  if (!redisUp) log(`no Redis answers at ${redisUrl} (REDIS_URL): the BFF's rate limits count in memory, scenario 7 is skipped`);
  const notes: string[] = [];
  const sections: Section[] = [];
  const failed: string[] = [];
  const loads: string[] = [`before: ${loadAverage().toFixed(2)}`];
  // Other work on this machine skews every number: say so up front and in RESULTS.md.
  const busyBefore = await machineBusyOver(2000);
  if (busyBefore > 0.15) log(`warning: the machine is ${(100 * busyBefore).toFixed(0)} % busy before the run (other work); numbers will be lower`);
  loads.push(`CPU busy in the 2 s before: ${(100 * busyBefore).toFixed(0)} %`);
  const tree = await treeState();

  try {
    log(`creating bench databases on ${new URL(adminUrl).host}`);
    const dbUrls = await createBenchDatabases(adminUrl);
    const secrets = await freshAuthSecrets();
    const tokens = await createTokenMint(secrets.privatePem);
    const appEnv = runEnv(redisUrl, queuePrefix);
    const scenarios: [string, (c: BenchContext) => Promise<Section>][] = [
      ["1. listing throughput", listingThroughput],
      ["2. overhead", overhead],
      ["3. deadline", deadline],
      ["4. open breaker", openBreaker],
      ["5. memory", memory],
      // Its own BFFs on stubs: ours are stopped first (below) so that they take no CPU from it.
      ["6. token cost", tokenCost],
    ];
    if (scenarios.some(([title]) => selected(title))) {
      const services = await startServices(dbUrls, appEnv, secrets);
      const products = await trimCatalogueToTen(dbUrls.products);
      if (products !== 10) throw new Error(`bench_products has ${products} products after trimming, expected 10`);
      const bff = await startBff(appEnv, upstreamUrls(services));
      log(`our stack is up (logs in ${benchLogDir()})`);
      await Bun.sleep(2000);
      const idleRss = new Map([...Object.values(services), bff].map((a) => [a.name, rssMb(a.pid)]));

      if (!peerMissing && hasWrk) {
        peer = await startPeer(adminUrl);
        log("the peer is up");
      }
      const ctx: BenchContext = {
        adminUrl,
        dbUrls,
        services,
        bff,
        appEnv,
        redisUrl: redisUp ? redisUrl : null,
        tokens,
        userHeader: bearerHeader(await tokens.user(1)),
        peer,
        peerMissing: peerMissing ?? (hasWrk ? null : "wrk missing"),
        hasWrk,
        runS: quick ? 2 : 10,
        quick,
        idleRss,
        loadRss: new Map(),
        peerLoadRss: new Map(),
        peakRps: Number.NaN,
        manyUsersRps: Number.NaN,
      };

      for (const [title, scenario] of scenarios) {
        if (!selected(title)) continue;
        if (!hasWrk && title !== "5. memory") {
          sections.push(skippedSection(title, "wrk is not installed (apt-get install -y wrk)"));
          continue;
        }
        if (title === "2. overhead" && !Number.isFinite(ctx.peakRps)) {
          ctx.peakRps = FALLBACK_PEAK_RPS;
          notes.push(`Scenario 1 gave no peak; scenario 2 assumed ${FALLBACK_PEAK_RPS}/s.`);
        }
        if (title === "6. token cost") await stopAll();
        log(`scenario ${title}`);
        loads.push(`${title.split(".")[0]}: ${loadAverage().toFixed(2)}`);
        try {
          sections.push(await scenario(ctx));
        } catch (err) {
          failed.push(title);
          log(`scenario ${title} failed: ${(err as Error).stack ?? err}`);
          sections.push(skippedSection(title, `failed: ${(err as Error).message.split("\n")[0]}`));
        }
        if (title === "1. listing throughput" && peer) {
          await peer.stop();
          peer = null;
        }
      }
    }
    if (!redisUp) notes.push(`No Redis answered at ${redisUrl}: the BFF's rate limits counted in memory in every scenario (no Redis call per request).`);
    // Its own apps, databases and Redis prefix; ours are stopped by now.
    await stopAll();
    if (selected("7.")) {
      log("scenario 7. notifications");
      loads.push(`7: ${loadAverage().toFixed(2)}`);
      try {
        // Like a missing wrk: a machine without Redis skips it rather than fails.
        if (!redisUp) sections.push(skippedSection("7. notifications jobs/s", `no Redis answers at ${redisUrl} (set REDIS_URL)`));
        else sections.push(await notifications(adminUrl, log));
      } catch (err) {
        if (!/no Redis/.test((err as Error).message)) failed.push("7. notifications");
        log(`scenario 7. notifications failed: ${(err as Error).stack ?? err}`);
        sections.push(skippedSection("7. notifications jobs/s", `failed: ${(err as Error).message.split("\n")[0]}`));
      }
    }
    if (selected("8.")) {
      // Last, on a stack of its own started now (on the bench databases as the earlier scenarios left them), so
      // orders and payments take no CPU from scenarios 1-6 and nothing else runs beside the checkouts.
      log("scenario 8. checkout");
      loads.push(`8: ${loadAverage().toFixed(2)}`);
      try {
        const stack = await startCheckoutStack(dbUrls, appEnv, secrets);
        log(`the checkout stack is up (logs in ${benchLogDir()})`);
        sections.push(await checkout({ dbUrls, stack, tokens, runS: quick ? 2 : 10, quick, log }));
      } catch (err) {
        failed.push("8. checkout");
        log(`scenario 8. checkout failed: ${(err as Error).stack ?? err}`);
        sections.push(skippedSection("8. checkout throughput", `failed: ${(err as Error).message.split("\n")[0]}`));
      } finally {
        await stopAll();
      }
    }
    if (selected("9.")) {
      // The web app's home page, on a stack of its own (after 8, on the databases as it left them): the five
      // services, notifications (with Redis: the logged-in header asks for the inbox), a BFF and the web app.
      log("scenario 9. web home");
      loads.push(`9: ${loadAverage().toFixed(2)}`);
      try {
        if (!hasWrk) {
          sections.push(skippedSection("9. web storefront home page", "wrk is not installed (apt-get install -y wrk)"));
        } else {
          const notificationsDbUrl = redisUp ? (await createDatabases(adminUrl, "bench", ["notifications"])).notifications : null;
          const stack = await startWebStack(dbUrls, appEnv, secrets, { notificationsDbUrl, beforeBff: () => fillCatalogue(dbUrls) });
          log(`the web stack is up (logs in ${benchLogDir()})`);
          sections.push(await webHome({ stack, tokens, runS: quick ? 2 : 10, quick, log }));
        }
      } catch (err) {
        failed.push("9. web home");
        log(`scenario 9. web home failed: ${(err as Error).stack ?? err}`);
        sections.push(skippedSection("9. web storefront home page", `failed: ${(err as Error).message.split("\n")[0]}`));
      } finally {
        await stopAll();
      }
    }
    if (selected("10.")) {
      // `bun run dev` as a user runs it, on its own ports, data folder and a Redis prefix under the run's.
      log("scenario 10. bun run dev");
      loads.push(`10: ${loadAverage().toFixed(2)}`);
      try {
        sections.push(await devStack({ quick, redisUrl, queuePrefix, log }));
      } catch (err) {
        failed.push("10. bun run dev");
        log(`scenario 10. bun run dev failed: ${(err as Error).stack ?? err}`);
        sections.push(skippedSection("10. bun run dev", `failed: ${(err as Error).message.split("\n")[0]}`));
      } finally {
        await stopDevStacks();
      }
    }
  } finally {
    log("stopping everything, dropping the bench databases and the run's Redis keys");
    await cleanup();
  }

  const cpu = cpus();
  const wrkVersion = hasWrk ? await versionOf([wrkPath()!, "-v"]) : "not installed";
  const markdown = renderResults(
    {
      cores: navigator.hardwareConcurrency,
      cpu: cpu[0]?.model ?? "unknown",
      memoryGb: totalmem() / 2 ** 30,
      bun: Bun.version,
      wrk: wrkVersion,
      postgres,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      durationS: (Date.now() - began) / 1000,
      tree,
      load: loads.join(", "),
    },
    sections,
    notes,
  );
  if (only) {
    // Part of a run: RESULTS.md keeps the last full run's numbers; these are printed instead.
    console.log(markdown);
  } else {
    // The chaos run's section (bun run chaos) is not ours to drop.
    const previous = await Bun.file(RESULTS).text().catch(() => "");
    await Bun.write(RESULTS, withChaosSection(markdown, chaosSection(previous)));
    log(`wrote ${RESULTS}`);
  }
  const targetsTable = markdown.split("## Targets")[1]?.split("\n## ")[0] ?? "";
  console.log(targetsTable.trim());
  if (failed.length) {
    log(`failed: ${failed.join(", ")}; app logs kept in ${benchLogDir()}`);
    return false;
  }
  // The apps' logs are large (a JSON line per request); kept only on failure or when asked.
  if (process.env.BENCH_KEEP_LOGS === "1") log(`app logs kept in ${benchLogDir()}`);
  else rmSync(benchLogDir(), { recursive: true, force: true });
  return true;
}

/** BENCH_ONLY: "8" or "1,8"; unset or empty: null (every scenario). */
function parseOnly(raw: string | undefined): Set<number> | null {
  if (raw === undefined || raw.trim() === "") return null;
  const numbers = raw.split(",").map((part) => Number(part.trim()));
  if (numbers.some((n) => !Number.isInteger(n) || n < 1 || n > SCENARIO_COUNT)) {
    throw new Error(`BENCH_ONLY must be scenario numbers 1-${SCENARIO_COUNT}, comma-separated (e.g. "8" or "1,8"); got "${raw}"`);
  }
  return new Set(numbers);
}

function skippedSection(title: string, why: string): Section {
  return { title, targets: [{ scenario: title, metric: "(all)", target: "", measured: `not measured: ${why}`, met: null }], body: [`Not measured: ${why}.`] };
}

/** The commit, and the files that differed from it (the apps are measured as they are on disk). */
async function treeState(): Promise<string> {
  const git = async (...args: string[]) => {
    const proc = Bun.spawn(["git", ...args], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdout: "pipe", stderr: "ignore" });
    return (await new Response(proc.stdout).text()).trimEnd();
  };
  const commit = await git("rev-parse", "--short", "HEAD");
  const changed = (await git("status", "--porcelain", "--", "apps", "shared"))
    .split("\n")
    .filter((l) => l.length > 3)
    .filter(Boolean)
    .map((l) => l.slice(3));
  if (!commit) return "unknown (not a git checkout)";
  return changed.length ? `${commit} + uncommitted changes in ${changed.length} files under apps/ and shared/ (e.g. ${changed.slice(0, 3).join(", ")})` : commit;
}

async function versionOf(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  return (out + err).split("\n")[0]!.replace(/\s+Copyright.*$/, "").trim();
}

try {
  process.exit((await main()) ? 0 : 1);
} catch (err) {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  await cleanup();
  process.exit(1);
}
