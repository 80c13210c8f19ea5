// `bun run dev` (scripts/dev.ts) as a developer uses it: start, use, Ctrl-C; and its refusals.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APPS } from "../scripts/apps.ts";
import { portIsFree } from "../scripts/ports.ts";
import { startProcess } from "./support/processes.ts";
import { freePort } from "./support/free-ports.ts";
import { READY_TIMEOUT_MS, cleanEnv, freshQueue, freshStorage, pickPorts, portEnv } from "./support/stack.ts";

const CURL_LINE = /^curl -s localhost:(\d+)\/products\/all -H 'x-user-id: 1'$/;
// dev.ts gives the apps 15 s to drain before it kills them; never kill dev.ts itself before that.
const DEV_STOP_GRACE_MS = 20_000;
const prefixWidth = Math.max(...APPS.map((a) => a.name.length));
const REDIS_MISSING = "notifications wait in the outbox until Redis is reachable";
const devLines = (output: string[]) => output.filter((line) => line.startsWith(`${"dev".padEnd(prefixWidth)} | `));

describe("bun run dev", () => {
  test(
    "starts the six apps, prints their addresses, serves the listing and the inbox, and stops them all on SIGINT with exit code 0",
    async () => {
      const ports = pickPorts();
      const storage = await freshStorage("dev");
      const queue = freshQueue("dev");
      const dev = startProcess("dev", ["scripts/dev.ts"], { ...cleanEnv(), ...storage.env, ...queue.env, ...portEnv(ports) });
      try {
        const [, curlPort] = await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        expect(Number(curlPort)).toBe(ports.bff);
        expect(devLines(dev.output)).toContainEqual(expect.stringMatching(/all 6 apps are ready/));
        for (const app of APPS) expect(devLines(dev.output)).toContain(`${"dev".padEnd(prefixWidth)} |   ${app.name.padEnd(prefixWidth)}  http://localhost:${ports[app.name]}`);
        expect(devLines(dev.output)).toContain(`${"dev".padEnd(prefixWidth)} |   ${"redis".padEnd(prefixWidth)}  ${queue.env.REDIS_URL} (REDIS_URL)`);

        const res = await fetch(`http://127.0.0.1:${ports.bff}/products/all`, { headers: { "x-user-id": "1" } });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { cart_items: number; products: unknown[]; degraded: unknown[] };
        expect(body.cart_items).toBe(3);
        expect(body.products.length).toBeGreaterThanOrEqual(10);
        expect(body.degraded).toEqual([]);
        // The BFF reaches the notifications app on its moved port.
        const inbox = await fetch(`http://127.0.0.1:${ports.bff}/notifications`, { headers: { "x-user-id": "1" } });
        expect({ status: inbox.status, body: await inbox.json() }).toEqual({ status: 200, body: [] });
        // Each app's output reaches the terminal prefixed with its name.
        for (const app of APPS) expect(dev.output.some((line) => line.startsWith(`${app.name.padEnd(prefixWidth)} | `))).toBe(true);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        // dev.ts reports any app that did not exit 0 (killed, crashed on shutdown).
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      } finally {
        await dev.stop(DEV_STOP_GRACE_MS);
        await queue.cleanup();
        await storage.cleanup();
      }
    },
    READY_TIMEOUT_MS + 60_000,
  );

  test(
    "without a reachable Redis everything else runs, it says once that notifications wait in the outbox, and stops cleanly",
    async () => {
      const ports = pickPorts();
      const storage = await freshStorage("dev_noredis");
      const nowhere = `redis://127.0.0.1:${freePort()}`;
      const dev = startProcess("dev", ["scripts/dev.ts"], { ...cleanEnv(), ...storage.env, ...portEnv(ports), REDIS_URL: nowhere });
      try {
        await dev.waitForLine(CURL_LINE, READY_TIMEOUT_MS);
        expect(devLines(dev.output).filter((line) => line.includes(REDIS_MISSING))).toEqual([
          `${"dev".padEnd(prefixWidth)} |   ${"redis".padEnd(prefixWidth)}  none answers at ${nowhere}: ${REDIS_MISSING}`,
        ]);

        const res = await fetch(`http://127.0.0.1:${ports.bff}/products/all`, { headers: { "x-user-id": "1" } });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { degraded: unknown[] }).degraded).toEqual([]);
        // A change that emits an event is still answered at once; the event waits in the cart's outbox.
        const added = await fetch(`http://127.0.0.1:${ports.bff}/cart`, {
          method: "POST",
          headers: { "x-user-id": "1", "content-type": "application/json" },
          body: JSON.stringify({ product_id: 4 }),
        });
        expect(added.ok).toBe(true);
        const inbox = await fetch(`http://127.0.0.1:${ports.bff}/notifications`, { headers: { "x-user-id": "1" } });
        expect(inbox.status).toBe(200);

        dev.proc.kill("SIGINT");
        expect(await dev.exitWithin(DEV_STOP_GRACE_MS)).toBe(0);
        expect(dev.output.filter((line) => line.includes("ended with"))).toEqual([]);
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      } finally {
        await dev.stop(DEV_STOP_GRACE_MS);
        await storage.cleanup();
      }
    },
    READY_TIMEOUT_MS + 60_000,
  );

  test("refuses to start when a port is busy, naming the port and the app, and starts nothing", async () => {
    const ports = pickPorts();
    const holder = Bun.listen({ hostname: "0.0.0.0", port: ports.inventory, socket: { data() {} } });
    const dir = mkdtempSync(join(tmpdir(), "storefront-dev-busy-"));
    const dataDirs = Object.fromEntries(APPS.map((a) => [`${a.name.toUpperCase()}_DATA_DIR`, join(dir, a.name)]));
    const dev = startProcess("dev", ["scripts/dev.ts"], { ...cleanEnv(), ...dataDirs, ...portEnv(ports) });
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
    "stops the others and exits non-zero naming the app when one dies during start-up",
    async () => {
      const ports = pickPorts();
      const storage = await freshStorage("dev_dies");
      const queue = freshQueue("dev_dies");
      const deadDatabase = `postgres://postgres@127.0.0.1:${pickPorts().cart}/nothing_listens_here`;
      const dev = startProcess("dev", ["scripts/dev.ts"], { ...cleanEnv(), ...storage.env, ...queue.env, ...portEnv(ports), CART_DATABASE_URL: deadDatabase });
      try {
        expect(await dev.exitWithin(READY_TIMEOUT_MS)).not.toBe(0);
        expect(dev.output.join("\n")).toContain("cart exited unexpectedly");
        for (const app of APPS) expect({ app: app.name, free: portIsFree(ports[app.name]) }).toEqual({ app: app.name, free: true });
      } finally {
        await dev.stop(DEV_STOP_GRACE_MS);
        await queue.cleanup();
        await storage.cleanup();
      }
    },
    READY_TIMEOUT_MS + 60_000,
  );
});
