// The web app as a process on a real socket, in front of a stub BFF served on another: pages over HTTP; the
// BFF stopped -> the 503 page and the process stays up; the BFF back -> pages again; SIGTERM -> exit 0. And a
// bad setting refused at start in one JSON line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { UNAVAILABLE_MESSAGE } from "./errors.ts";
import { textOf } from "./testing/browser.ts";
import { createStubBff, type StubBff } from "./testing/stub-bff.ts";

const ENTRY = "apps/web/src/index.ts";

/** The parent's environment without web settings a developer may have exported, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) if (/^(PORT|LOG_LEVEL|BFF_URL|WEB_|NODE_ENV$)/.test(key)) delete base[key];
  return { ...base, ...env };
}

const started: TestProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

// connection: close, so no idle keep-alive connection is left for the app to wait on when it stops.
const get = (url: string) => fetch(url, { headers: { connection: "close" }, redirect: "manual" });

describe("the web process, running", () => {
  let stub: StubBff;
  let bff: ReturnType<typeof Bun.serve> | undefined;
  let bffPort: number;
  let web: TestProcess;
  let url: string;

  const startBff = () => {
    bff = Bun.serve({ hostname: "127.0.0.1", port: bffPort, fetch: (req) => stub.app.fetch(req) });
  };

  beforeAll(async () => {
    stub = await createStubBff();
    bffPort = freePort();
    startBff();
    const port = freePort();
    url = `http://127.0.0.1:${port}`;
    web = startProcess("web", [ENTRY], childEnv({ PORT: String(port), BFF_URL: `http://127.0.0.1:${bffPort}` }));
    started.push(web);
    await Promise.race([
      waitUntilReady(`${url}/ready`, { timeoutMs: 20_000 }),
      web.proc.exited.then((code) => Promise.reject(new Error(`web exited (${code}) during start-up:\n${web.output.join("\n")}`))),
    ]);
  });

  afterAll(async () => {
    await bff?.stop(true);
  });

  test("serves the product grid from the BFF, with a session cookie that is not Secure in development", async () => {
    const res = await get(`${url}/`);
    expect(res.status).toBe(200);
    expect(textOf(await res.text())).toContain("Espresso beans 1 kg");
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sf_csrf="));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).not.toContain("Secure");
  });

  test("with the BFF stopped: the 503 page, and the process keeps serving; with it back, pages again", async () => {
    await bff!.stop(true);
    bff = undefined;
    for (const path of ["/", "/products/1"]) {
      const res = await get(`${url}${path}`);
      expect(res.status).toBe(503);
      expect(textOf(await res.text())).toContain(UNAVAILABLE_MESSAGE);
    }
    expect((await get(`${url}/health`)).status).toBe(200);
    expect(web.proc.exitCode).toBeNull();

    startBff();
    const back = await get(`${url}/`);
    expect(back.status).toBe(200);
  });

  test("SIGTERM: exits 0", async () => {
    web.proc.kill("SIGTERM");
    expect(await web.exitWithin(15_000)).toBe(0);
  });
});

test("a bad WEB_SECURE_COOKIES: exit 1 with one JSON line naming it, no stack", async () => {
  const proc = startProcess("web", [ENTRY], childEnv({ PORT: String(freePort()), WEB_SECURE_COOKIES: "perhaps" }));
  started.push(proc);
  expect(await proc.exitWithin(15_000)).toBe(1);
  await proc.waitForLine(/WEB_SECURE_COOKIES/, 2000);
  const lines = proc.output.filter((line) => line.trim() !== "");
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", service: "web" });
  expect(lines[0]).not.toContain("stack");
});
