// The stop of a real process with SHUTDOWN_DELAY_MS: first not ready while still serving (every answer closing
// its connection, so callers move to another replica), then in-flight requests drain, then exit 0.
import { afterEach, describe, expect, test } from "bun:test";
import { waitUntilReady } from "../../scripts/wait-ready.ts";
import { freePort } from "../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../tests/support/processes.ts";

let app: TestProcess | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const DELAY_MS = 800;

async function start(env: Record<string, string>) {
  const port = freePort();
  app = startProcess("guarded", ["shared/src/testing/fixtures/guarded-app.ts"], { ...process.env, PORT: String(port), LOG_LEVEL: "info", ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/ready`, { timeoutMs: 10_000 });
  return { proc: app, url };
}

describe("a stop with SHUTDOWN_DELAY_MS", () => {
  test("readiness turns 503 at once while requests are still served with Connection: close; then it drains and exits 0", async () => {
    const { proc, url } = await start({ SHUTDOWN_DELAY_MS: String(DELAY_MS) });
    const before = await fetch(`${url}/slow?ms=1`);
    expect(before.headers.get("connection")).not.toBe("close");
    // A request in flight across the whole delay: it must finish.
    const inFlight = fetch(`${url}/slow?ms=${DELAY_MS + 400}`);
    await Bun.sleep(50);
    const stoppedAt = Date.now();
    proc.proc.kill("SIGTERM");
    await proc.waitForLine(/not ready, serving/, 5000);

    const ready = await fetch(`${url}/ready`);
    expect({ status: ready.status, body: await ready.json(), connection: ready.headers.get("connection") }).toEqual({
      status: 503,
      body: { error: { code: "SHUTTING_DOWN", message: "guarded is shutting down" } },
      connection: "close",
    });
    const served = await fetch(`${url}/slow?ms=1`);
    expect({ status: served.status, connection: served.headers.get("connection") }).toEqual({ status: 200, connection: "close" });
    expect(Date.now() - stoppedAt).toBeLessThan(DELAY_MS);

    expect((await inFlight).status).toBe(200);
    expect(await proc.exitWithin(10_000)).toBe(0);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(DELAY_MS);
  });

  test("without it (the default) the stop drains at once", async () => {
    const { proc, url } = await start({});
    const stoppedAt = Date.now();
    proc.proc.kill("SIGTERM");
    expect(await proc.exitWithin(10_000)).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(DELAY_MS * 3);
    expect(proc.output.some((line) => line.includes("not ready, serving"))).toBe(false);
    await fetch(`${url}/ready`).then(
      () => {
        throw new Error("still listening");
      },
      () => {},
    );
  });

  test("a value that is not a number of milliseconds stops the start with a line naming it", async () => {
    const port = freePort();
    app = startProcess("guarded", ["shared/src/testing/fixtures/guarded-app.ts"], { ...process.env, PORT: String(port), SHUTDOWN_DELAY_MS: "soon" });
    expect(await app.exitWithin(10_000)).toBe(1);
    expect(app.output.join("\n")).toContain('SHUTDOWN_DELAY_MS must be an integer >= 0, got \\"soon\\"');
  });
});
