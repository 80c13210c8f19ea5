// The policy for errors nobody handled, on a real process: a rejection is logged, counted and survived; an
// uncaught exception is logged, counted, and the app drains its in-flight requests and exits 1.
import { afterEach, describe, expect, test } from "bun:test";
import { waitUntilReady } from "../../scripts/wait-ready.ts";
import { freePort } from "../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../tests/support/processes.ts";

let app: TestProcess | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function startGuardedApp() {
  const port = freePort();
  app = startProcess("guarded", ["shared/src/testing/fixtures/guarded-app.ts"], { ...process.env, PORT: String(port), LOG_LEVEL: "info" });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/ready`, { timeoutMs: 10_000 });
  return { proc: app, url };
}

const counted = async (url: string, kind: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(new RegExp(`^process_unhandled_errors_total\\{kind="${kind}"\\} (\\d+)$`, "m"))?.[1]);
};
const jsonLines = (output: string[]) => output.flatMap((line) => (line.startsWith("{") ? [JSON.parse(line) as Record<string, unknown>] : []));

describe("errors nobody handled", () => {
  test("both kinds are counted from zero", async () => {
    const { url } = await startGuardedApp();
    expect(await counted(url, "unhandled_rejection")).toBe(0);
    expect(await counted(url, "uncaught_exception")).toBe(0);
  });

  test("an unhandled rejection is logged once with its stack and counted, and the app keeps serving", async () => {
    const { proc, url } = await startGuardedApp();
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/reject`)).status).toBe(200);
    await proc.waitForLine(/unhandled promise rejection/, 5000);
    await Bun.sleep(50);
    expect(await counted(url, "unhandled_rejection")).toBe(3);
    const logged = jsonLines(proc.output).filter((l) => String(l.msg).startsWith("unhandled promise rejection"));
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ level: "error", service: "guarded", error: "Error: nobody listens to this one" });
    expect(String(logged[0]!.stack)).toContain("guarded-app.ts");
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(proc.proc.exitCode).toBeNull();
  });

  test("an uncaught exception is logged and counted; in-flight requests finish, then the app exits 1", async () => {
    const { proc, url } = await startGuardedApp();
    const inFlight = fetch(`${url}/slow?ms=400`);
    await Bun.sleep(50);
    expect((await fetch(`${url}/throw`)).status).toBe(200);
    const res = await inFlight;
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { finished: true } });
    expect(await proc.exitWithin(10_000)).toBe(1);
    const logged = jsonLines(proc.output);
    expect(logged.filter((l) => l.level === "error" && String(l.msg).startsWith("uncaught exception"))).toEqual([
      expect.objectContaining({ level: "error", error: "Error: thrown outside any request", stack: expect.stringContaining("guarded-app.ts") }),
    ]);
    expect(logged.map((l) => l.msg)).toContain("uncaught exception: draining in-flight requests");
  });
});
