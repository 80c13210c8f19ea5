// `bun run dev` (scripts/dev.ts) as a developer uses it: start, use, Ctrl-C; and its refusals.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APPS, type Ports } from "../scripts/apps.ts";
import { portIsFree } from "../scripts/ports.ts";
import { restartDelayMs, supervise } from "../scripts/supervisor.ts";
import { freePort } from "./support/free-ports.ts";
import { getOnce, listingProblem, type Answer } from "./support/http-answer.ts";
import { pidListeningOn } from "./support/listening-pid.ts";
import { pollUntil } from "./support/poll.ts";
import { repoRoot, startProcess, type TestProcess } from "./support/processes.ts";
import { READY_TIMEOUT_MS, cleanEnv, freshQueue, freshStorage, pickPorts, portEnv, type QueueSpace } from "./support/stack.ts";

const TOKEN_LINE = /^TOKEN=\$\(curl -s localhost:(\d+)\/auth\/login .*\)$/;
const CURL_LINE = /^curl -s localhost:(\d+)\/products\/all -H "authorization: Bearer \$TOKEN"$/;
const CHECKOUT_LINE = /^curl -s localhost:(\d+)\/checkout -H "authorization: Bearer \$TOKEN" .*card_token":"tok_visa"}'$/;

/** Runs the lines `bun run dev` printed, as a user pasting them into a shell would, and returns what the last one wrote. */
function pasted(lines: string[]): string {
  const run = Bun.spawnSync(["bash", "-c", lines.join("\n")], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`the printed commands failed: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

/** User 1's access token, logged in through the BFF. */
async function tokenOf(bffPort: number): Promise<Record<string, string>> {
  const res = await fetch(`http://127.0.0.1:${bffPort}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "user1@storefront.test", password: "storefront-demo" }),
  });
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  return { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };
}
// dev.ts gives the apps 15 s to drain before it kills them; never kill dev.ts itself before that.
const DEV_STOP_GRACE_MS = 20_000;
const prefixWidth = Math.max(...APPS.map((a) => a.name.length));
const REDIS_MISSING = "notifications wait in the outbox until Redis is reachable";
const devLines = (output: string[]) => output.filter((line) => line.startsWith(`${"dev".padEnd(prefixWidth)} | `));
// A restart waits 0.5 s, then the app starts as at start-up (its database is already migrated).
const RESTART_WITHIN_MS = 30_000;
// Breakers that opened while an upstream was away: open 5 s, then half-open probes must succeed.
const BREAKER_RECOVERY_MS = 30_000;
// The BFF answers within its two 1 s deadlines plus a little; more than this is no answer.
const LOOP_REQUEST_MS = 5_000;

const tail = (proc: TestProcess) => `\n--- last output of ${proc.name} ---\n${proc.output.slice(-40).join("\n")}`;

describe("the dev supervisor", () => {
  const quietBackoff = { firstMs: 100, maxMs: 400, stableAfterMs: 60_000 };

  test("waits 0.5 s before the first restart in a row, doubling each time, never more than 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => restartDelayMs(n))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  test("restarts a process that keeps exiting, saying so each time with a doubling wait up to the cap; stop() cancels the pending restart", async () => {
    const said: string[] = [];
    const app = supervise({
      name: "crasher",
      cmd: [process.execPath, "-e", "process.exit(3)"],
      cwd: repoRoot,
      env: process.env,
      onLine: () => {},
      // Stopping right as the fourth restart is announced: that restart is pending for sure.
      say: (msg) => {
        said.push(msg);
        if (msg.includes("(restart 4)")) void app.stop();
      },
      backoff: quietBackoff,
    });
    try {
      await pollUntil("the fourth restart", 20_000, async () => (said.length >= 4 ? true : undefined));
    } finally {
      await app.stop();
    }
    await Bun.sleep(1000);
    expect(said).toEqual([
      "!! crasher exited unexpectedly (exit code 3); restarting it in 0.1 s (restart 1)",
      "!! crasher exited unexpectedly (exit code 3); restarting it in 0.2 s (restart 2)",
      "!! crasher exited unexpectedly (exit code 3); restarting it in 0.4 s (restart 3)",
      "!! crasher exited unexpectedly (exit code 3); restarting it in 0.4 s (restart 4)",
    ]);
    expect({ crashes: app.crashes, running: app.running, exit: app.exit }).toEqual({ crashes: 4, running: false, exit: { code: 3, signal: null } });
  });

  test("passes the output on, says when a restarted process is ready again, and stop() ends a running one with SIGTERM without restarting it", async () => {
    const marker = join(mkdtempSync(join(tmpdir(), "storefront-supervisor-")), "started-once");
    const script = `const fs = require("node:fs");
      if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ""); console.error("first run"); process.exit(1); }
      console.log("up"); setInterval(() => {}, 1000);`;
    const said: string[] = [];
    const lines: string[][] = [];
    const app = supervise({
      name: "once",
      cmd: [process.execPath, "-e", script],
      cwd: repoRoot,
      env: process.env,
      onLine: (line, stream) => lines.push([line, stream]),
      say: (msg) => said.push(msg),
      waitReady: async () => {},
      backoff: quietBackoff,
    });
    try {
      await pollUntil("ready again", 20_000, async () => (said.length >= 2 ? true : undefined));
      await pollUntil("its output", 10_000, async () => (lines.length >= 2 ? true : undefined));
      expect(said).toEqual([
        "!! once exited unexpectedly (exit code 1); restarting it in 0.1 s (restart 1)",
        expect.stringMatching(/^once is ready again after restart 1 \(down \d+\.\d s\)$/),
      ]);
      expect(lines).toEqual([
        ["first run", "stderr"],
        ["up", "stdout"],
      ]);
      expect(app.running).toBe(true);
      await app.stop();
      await Bun.sleep(500);
      expect({ crashes: app.crashes, running: app.running, exit: app.exit, said: said.length }).toEqual({ crashes: 1, running: false, exit: { code: null, signal: "SIGTERM" }, said: 2 });
    } finally {
      void app.stop();
      app.kill();
      rmSync(join(marker, ".."), { recursive: true, force: true });
    }
  });

  test("after a process stayed up long enough, the next wait starts again from the first step", async () => {
    const said: string[] = [];
    const app = supervise({
      name: "steady",
      cmd: [process.execPath, "-e", "setTimeout(() => process.exit(2), 300)"],
      cwd: repoRoot,
      env: process.env,
      onLine: () => {},
      say: (msg) => {
        said.push(msg);
        if (msg.includes("(restart 3)")) void app.stop();
      },
      backoff: { ...quietBackoff, stableAfterMs: 200 },
    });
    try {
      await pollUntil("the third restart", 20_000, async () => (said.length >= 3 ? true : undefined));
    } finally {
      await app.stop();
    }
    expect(said).toEqual([1, 2, 3].map((n) => `!! steady exited unexpectedly (exit code 2); restarting it in 0.1 s (restart ${n})`));
  });
});

/** `bun run dev` on free ports with fresh databases and a queue prefix of its own (`env` on top); always stopped and cleaned up. */
async function withDev(label: string, env: Record<string, string>, run: (dev: TestProcess, ports: Ports, queue: QueueSpace) => Promise<void>) {
  const ports = pickPorts();
  const storage = await freshStorage(label);
  const queue = freshQueue(label);
  const authDir = mkdtempSync(join(tmpdir(), `storefront-${label}-auth-`));
  // The one embedded Postgres of the default mode (used only without TEST_DATABASE_URL's databases).
  const databaseDir = join(authDir, "postgres");
  const dev = startProcess("dev", ["scripts/dev.ts"], {
    ...cleanEnv(),
    ...storage.env,
    ...queue.env,
    ...portEnv(ports),
    DEV_AUTH_DIR: authDir,
    DEV_DATABASE_DIR: databaseDir,
    ...env,
  });
  try {
    await run(dev, ports, queue);
  } finally {
    await dev.stop(DEV_STOP_GRACE_MS);
    await queue.cleanup();
    await storage.cleanup();
    rmSync(authDir, { recursive: true, force: true });
  }
}

describe("bun run dev", () => {
  test(
    "starts every app, prints their addresses and a login + listing that work when pasted, serves the inbox, and stops them all on SIGINT with exit code 0",
    () =>
      withDev("dev", {}, async (dev, ports, queue) => {
        const [tokenLine, tokenPort] = await dev.waitForLine(TOKEN_LINE, READY_TIMEOUT_MS);
        const [curlLine, curlPort] = await dev.waitForLine(CURL_LINE, 5_000);
        expect([Number(tokenPort), Number(curlPort)]).toEqual([ports.bff, ports.bff]);
        // The printed commands, pasted into a shell: log in as user 1, then the listing with the token.
        const printed = JSON.parse(pasted([tokenLine, curlLine])) as { cart_items: number; favorite_items: number };
        expect([printed.cart_items, printed.favorite_items]).toEqual([3, 3]);
        expect(devLines(dev.output)).toContainEqual(expect.stringMatching(new RegExp(`all ${APPS.length} apps are ready`)));
        for (const app of APPS) expect(devLines(dev.output)).toContain(`${"dev".padEnd(prefixWidth)} |   ${app.name.padEnd(prefixWidth)}  http://localhost:${ports[app.name]}`);
        expect(devLines(dev.output)).toContain(`${"dev".padEnd(prefixWidth)} |   ${"redis".padEnd(prefixWidth)}  ${queue.env.REDIS_URL} (REDIS_URL)`);

        const user1 = await tokenOf(ports.bff);
        const res = await fetch(`http://127.0.0.1:${ports.bff}/products/all`, { headers: user1 });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { cart_items: number; products: unknown[]; degraded: unknown[] };
        expect(body.cart_items).toBe(3);
        expect(body.products.length).toBeGreaterThanOrEqual(10);
        expect(body.degraded).toEqual([]);
        // The BFF reaches the notifications app on its moved port.
        const inbox = await fetch(`http://127.0.0.1:${ports.bff}/notifications`, { headers: user1 });
        expect({ status: inbox.status, body: await inbox.json() }).toEqual({ status: 200, body: [] });
        // The printed checkout, pasted: user 1's seeded cart becomes a confirmed order.
        const [checkoutLine] = await dev.waitForLine(CHECKOUT_LINE, 5_000);
        const order = JSON.parse(pasted([tokenLine, checkoutLine])) as { status: string; items: unknown[] };
        expect(order.status).toBe("confirmed");
        expect(order.items).toHaveLength(3);
        // The shop's address is printed, and the page there is the product grid.
        expect(devLines(dev.output)).toContainEqual(expect.stringContaining(`the shop in a browser: http://localhost:${ports.web}`));
        const shop = await fetch(`http://127.0.0.1:${ports.web}/`);
        expect({ status: shop.status, type: shop.headers.get("content-type") }).toEqual({ status: 200, type: expect.stringContaining("text/html") });
        expect(await shop.text()).toContain("Espresso");
        // Each app's output reaches the terminal prefixed with its name.
        for (const app of APPS) expect(dev.output.some((line) => line.startsWith(`${app.name.padEnd(prefixWidth)} | `))).toBe(true);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        // dev.ts reports any app that did not exit 0 (killed, crashed on shutdown).
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      }),
    READY_TIMEOUT_MS + 60_000,
  );

  test(
    "without a reachable Redis everything else runs, it says once that notifications wait in the outbox, and stops cleanly",
    () => {
      const nowhere = `redis://127.0.0.1:${freePort()}`;
      return withDev("dev_noredis", { REDIS_URL: nowhere }, async (dev, ports) => {
        await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        expect(devLines(dev.output).filter((line) => line.includes(REDIS_MISSING))).toEqual([
          `${"dev".padEnd(prefixWidth)} |   ${"redis".padEnd(prefixWidth)}  none answers at ${nowhere}: ${REDIS_MISSING}`,
        ]);

        const user1 = await tokenOf(ports.bff);
        const res = await fetch(`http://127.0.0.1:${ports.bff}/products/all`, { headers: user1 });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { degraded: unknown[] }).degraded).toEqual([]);
        // A change that emits an event is still answered at once; the event waits in the cart's outbox.
        const added = await fetch(`http://127.0.0.1:${ports.bff}/cart`, {
          method: "POST",
          headers: { ...user1, "content-type": "application/json" },
          body: JSON.stringify({ product_id: 4 }),
        });
        expect(added.ok).toBe(true);
        const inbox = await fetch(`http://127.0.0.1:${ports.bff}/notifications`, { headers: user1 });
        expect(inbox.status).toBe(200);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      });
    },
    READY_TIMEOUT_MS + 60_000,
  );

  test("refuses to start when a port is busy, naming the port and the app, and starts nothing", async () => {
    const ports = pickPorts();
    const holder = Bun.listen({ hostname: "0.0.0.0", port: ports.inventory, socket: { data() {} } });
    const dir = mkdtempSync(join(tmpdir(), "storefront-dev-busy-"));
    const dataDirs = Object.fromEntries(APPS.map((a) => [`${a.name.toUpperCase()}_DATA_DIR`, join(dir, a.name)]));
    const dev = startProcess("dev", ["scripts/dev.ts"], { ...cleanEnv(), ...dataDirs, DEV_DATABASE_DIR: join(dir, "postgres"), ...portEnv(ports) });
    try {
      expect(await dev.exitWithin(15_000)).not.toBe(0);
      const output = dev.output.join("\n");
      expect(output).toContain(`port ${ports.inventory} (inventory) is already in use`);
      expect(output).toContain("INVENTORY_PORT");
      for (const app of APPS.filter((a) => a.name !== "inventory")) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      expect(output).not.toContain("listening");
    } finally {
      holder.stop(true);
      await dev.stop(DEV_STOP_GRACE_MS);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(
    "with a process per app, an app that keeps dying during start-up is restarted with backoff; when start-up time is over it names the app and why, stops all and exits 1",
    () => {
      const deadDatabase = `postgres://postgres@127.0.0.1:${pickPorts().cart}/nothing_listens_here`;
      // Long enough for a few restarts of cart, short enough that the test does not wait a minute; whether the
      // other five made it in time (embedded databases may not) changes nothing here.
      const readyTimeoutMs = 8_000;
      const env = { CART_DATABASE_URL: deadDatabase, DEV_READY_TIMEOUT_MS: String(readyTimeoutMs), DEV_PROCESSES: "1" };
      return withDev("dev_dies", env, async (dev, ports) => {
        expect(await dev.exitWithin(readyTimeoutMs + DEV_STOP_GRACE_MS)).toBe(1);
        const lines = devLines(dev.output);
        const restarts = lines.filter((line) => line.includes("exited unexpectedly"));
        expect(restarts.slice(0, 2)).toEqual([
          `${"dev".padEnd(prefixWidth)} | !! cart exited unexpectedly (exit code 1); restarting it in 0.5 s (restart 1)`,
          `${"dev".padEnd(prefixWidth)} | !! cart exited unexpectedly (exit code 1); restarting it in 1.0 s (restart 2)`,
        ]);
        expect(restarts.every((line) => line.includes("!! cart exited"))).toBe(true);
        // Why it never started: the database it cannot reach, in its own prefixed output.
        expect(dev.output.some((line) => line.startsWith(`${"cart".padEnd(prefixWidth)} | `) && line.includes("ECONNREFUSED"))).toBe(true);
        expect(lines.filter((line) => line.includes("did not become ready"))).toContainEqual(
          expect.stringMatching(
            new RegExp(`^dev\\s+\\| !! cart did not become ready within ${readyTimeoutMs / 1000} s: it exited ${restarts.length} times, the last time with exit code 1 `),
          ),
        );
        expect(lines).not.toContainEqual(expect.stringMatching(/all \d+ apps are ready/));
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      });
    },
    READY_TIMEOUT_MS + 60_000,
  );

  test(
    "with a process per app, when an app dies it says so loudly and restarts it on the same port, the others keep answering, and the listing is full again",
    () =>
      withDev("dev_restart", { DEV_PROCESSES: "1" }, async (dev, ports) => {
        await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        const user1 = await tokenOf(ports.bff);
        const pid = pidListeningOn(ports.inventory);
        expect(pid).toBeNumber();
        process.kill(pid!, "SIGKILL");

        // Until inventory answers again, every other app answers its /health and the BFF still serves the listing.
        const others = APPS.filter((a) => a.name !== "inventory");
        const seen: { app: string; status: number | string }[] = [];
        let roundsWhileDown = 0;
        const back = Date.now() + RESTART_WITHIN_MS;
        for (;;) {
          const inventoryUp = (await getOnce(`http://127.0.0.1:${ports.inventory}/ready`)).status === 200;
          if (inventoryUp) break;
          roundsWhileDown += 1;
          for (const app of others) seen.push({ app: app.name, status: (await getOnce(`http://127.0.0.1:${ports[app.name]}/health`)).status });
          const listing = await getOnce(`http://127.0.0.1:${ports.bff}/products/all`, user1);
          const body = listing.body as { products?: unknown[]; degraded?: string[] } | undefined;
          // Inventory may already be back by the time the BFF calls it, so "inventory" may or may not be degraded.
          seen.push({ app: "bff listing", status: listing.status === 200 && body?.products?.length && body.degraded?.every((d) => d === "inventory") ? 200 : `${listing.status} ${JSON.stringify(listing.body)}` });
          if (Date.now() > back) throw new Error(`inventory did not answer /ready within ${RESTART_WITHIN_MS} ms of being killed${tail(dev)}`);
          await Bun.sleep(100);
        }
        expect(roundsWhileDown).toBeGreaterThan(0);
        expect(seen.filter((s) => s.status !== 200)).toEqual([]);

        const lines = devLines(dev.output);
        expect(lines.filter((line) => line.includes("exited unexpectedly"))).toEqual([
          `${"dev".padEnd(prefixWidth)} | !! inventory exited unexpectedly (signal SIGKILL); restarting it in 0.5 s (restart 1)`,
        ]);
        await dev.waitForLine(/^dev\s+\| inventory is ready again after restart 1 \(down \d+\.\d s\)$/, RESTART_WITHIN_MS);
        expect(pidListeningOn(ports.inventory)).not.toBe(pid);
        expect(dev.proc.exitCode).toBeNull();

        // The BFF's inventory breaker may have opened while inventory was away; it closes again by itself.
        const full = await pollUntil("a listing with nothing degraded", BREAKER_RECOVERY_MS, async () => {
          const listing = await getOnce(`http://127.0.0.1:${ports.bff}/products/all`, user1);
          const body = listing.body as { products: { inventory: number | null }[]; degraded: string[] } | undefined;
          return listing.status === 200 && body?.degraded.length === 0 ? body : undefined;
        }, 250);
        expect(full.products.every((p) => typeof p.inventory === "number")).toBe(true);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        // The restarted inventory drained and exited 0 like the others.
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      }),
    READY_TIMEOUT_MS + RESTART_WITHIN_MS + BREAKER_RECOVERY_MS + 60_000,
  );

  test(
    "with a process per app, Ctrl-C while a restart is pending cancels it: nothing starts again, exit code 0, all ports free",
    () =>
      withDev("dev_cancel", { DEV_PROCESSES: "1" }, async (dev, ports) => {
        await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        // Three crashes in a row: the third restart waits 2 s, ample time for the SIGINT to arrive first.
        let loud = "";
        for (const [restart, wait] of [[1, "0.5"], [2, "1.0"], [3, "2.0"]] as const) {
          const pid = await pollUntil("inventory listening", RESTART_WITHIN_MS, async () => pidListeningOn(ports.inventory));
          process.kill(pid, "SIGKILL");
          [loud] = await dev.waitForLine(new RegExp(`^dev\\s+\\| !! inventory exited unexpectedly \\(signal SIGKILL\\); restarting it in ${wait} s \\(restart ${restart}\\)$`), 10_000);
          if (restart < 3) await dev.waitForLine(new RegExp(`inventory is ready again after restart ${restart} `), RESTART_WITHIN_MS);
        }
        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        const afterLoud = dev.output.slice(dev.output.indexOf(loud));
        expect(afterLoud.filter((line) => line.startsWith(`${"inventory".padEnd(prefixWidth)} | `) && line.includes("listening"))).toEqual([]);
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([`${"dev".padEnd(prefixWidth)} | inventory ended with signal SIGKILL`]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      }),
    READY_TIMEOUT_MS + 60_000,
  );

  test(
    "by default every app runs in one process; when it dies it is restarted as a whole and the listing is full again",
    () =>
      withDev("dev_light", {}, async (dev, ports) => {
        await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        const pids = new Set(APPS.map((a) => pidListeningOn(ports[a.name])));
        expect(pids.size).toBe(1);
        const [pid] = [...pids];
        expect(pid).toBeNumber();
        process.kill(pid!, "SIGKILL");
        await dev.waitForLine(/^dev\s+\| !! stack exited unexpectedly \(signal SIGKILL\); restarting it in 0\.5 s \(restart 1\)$/, 10_000);
        await dev.waitForLine(/^dev\s+\| stack is ready again after restart 1 /, RESTART_WITHIN_MS);
        const user1 = await tokenOf(ports.bff);
        const full = await pollUntil("a listing with nothing degraded", BREAKER_RECOVERY_MS, async () => {
          const listing = await getOnce(`http://127.0.0.1:${ports.bff}/products/all`, user1);
          const body = listing.body as { products: unknown[]; degraded: string[] } | undefined;
          return listing.status === 200 && body?.degraded.length === 0 ? body : undefined;
        }, 250);
        expect(full.products.length).toBeGreaterThanOrEqual(10);
        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        // The restarted stack drained and exited 0.
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      }),
    READY_TIMEOUT_MS + RESTART_WITHIN_MS + BREAKER_RECOVERY_MS + 60_000,
  );

  test(
    "curling the listing in a loop from the moment bun run dev starts never kills anything",
    () =>
      // The loop asks as fast as it can for as long as start-up takes (nine apps, then breaker recovery): above the
      // default per-IP limit, whose 429 is a designed answer but not what this test looks at.
      withDev("dev_curl_loop", { RATE_LIMIT_IP: "100000/60", RATE_LIMIT_USER: "100000/60" }, async (dev, ports) => {
        const wrong: string[] = [];
        const statuses = new Map<number, number>();
        let refused = 0;
        let user1: Record<string, string> | undefined;
        // Start-up, then the breakers that opened while the upstreams were starting need to close again.
        const until = Date.now() + READY_TIMEOUT_MS + BREAKER_RECOVERY_MS;
        for (;;) {
          if (dev.proc.exitCode !== null || dev.proc.signalCode) throw new Error(`dev exited while the listing was being requested${tail(dev)}`);
          if (Date.now() > until) throw new Error(`no listing with nothing degraded within ${READY_TIMEOUT_MS + BREAKER_RECOVERY_MS} ms${tail(dev)}`);
          // Anonymous until user 1 can log in (users may start after the BFF), then as user 1.
          user1 ??= await tokenOf(ports.bff).catch(() => undefined);
          const answer = await getOnce(`http://127.0.0.1:${ports.bff}/products/all`, user1 ?? {}, LOOP_REQUEST_MS);
          if (answer.status === "refused") {
            // Nothing listens yet (or any more: a crash shows up in dev's output below).
            refused += 1;
            await Bun.sleep(50);
            continue;
          }
          if (typeof answer.status === "string") {
            wrong.push(answer.status);
            await Bun.sleep(50);
            continue;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const problem = listingProblem(answer as Answer & { status: number });
          if (problem) wrong.push(problem);
          if (answer.status === 200 && (answer.body as { degraded: unknown[] }).degraded.length === 0) break;
          await Bun.sleep(10);
        }
        console.log(`listing loop: ${refused} refused, answers by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
        const unexpectedExits = devLines(dev.output).filter((line) => line.includes("exited unexpectedly"));
        // When an app died, what it printed just before says why.
        const firstExit = dev.output.indexOf(unexpectedExits[0]!);
        const dead = unexpectedExits[0]?.match(/!! (\S+) exited/)?.[1];
        const lastWords = dead ? dev.output.slice(0, firstExit).filter((line) => line.startsWith(`${dead.padEnd(prefixWidth)} | `)).slice(-15) : [];
        expect({ unexpectedExits, lastWords }).toEqual({ unexpectedExits: [], lastWords: [] });
        expect(wrong).toEqual([]);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
      }),
    READY_TIMEOUT_MS + BREAKER_RECOVERY_MS + 60_000,
  );
});
