// Tests for the fault proxy: each mode shown through a real fetch against a real upstream, then keep-alive,
// request framing, the counts, switching modes and shutting down. Timing: lower bounds exact, upper bounds loose.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { createFaultProxy, describeFaultMode, EVERY_FAULT, parseFaultMode, type FaultMode, type FaultProxy } from "./fault-proxy.ts";

const HANG_MS = 200; // how long a test waits on a hanging answer before its own timer aborts
const LIMIT = { timeout: 5_000 }; // a hang the abort fails to cut fails the test, not the whole run

let upstream: ReturnType<typeof Bun.serve>;
let upstreamHits = 0;
let proxy: FaultProxy | null = null;

beforeAll(() => {
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      upstreamHits++;
      return Response.json({ from: "upstream", method: request.method, body: await request.text() });
    },
  });
});
afterAll(() => upstream.stop(true));
afterEach(async () => {
  await proxy?.close();
  proxy = null;
  upstreamHits = 0;
});

async function start(mode?: FaultMode) {
  proxy = await createFaultProxy({ upstreamPort: upstream.port!, mode });
  return proxy;
}

type Outcome = { status?: number; headers?: Headers; body?: string; error?: { name: string; code?: string }; ms: number };

/** A fetch under the test's own timer: the abort covers the body too, so a stalled body ends as an error. */
async function call(url: string, init: RequestInit = {}, abortAfterMs = 1_500): Promise<Outcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), abortAfterMs);
  const started = performance.now();
  const outcome: Omit<Outcome, "ms"> = {};
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    outcome.status = response.status;
    outcome.headers = response.headers;
    outcome.body = await response.text();
  } catch (error) {
    const { name, code } = error as { name: string; code?: string };
    outcome.error = { name, code };
  } finally {
    clearTimeout(timer);
  }
  return { ...outcome, ms: performance.now() - started };
}

/** A raw keep-alive connection, to control exactly which bytes go on which connection. */
async function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let received = "";
  let closed = false;
  socket.on("data", (chunk) => (received += chunk.toString("latin1")));
  socket.on("close", () => (closed = true));
  await new Promise((resolve) => socket.once("connect", resolve));
  const until = async (done: () => boolean, ms = 1_000) => {
    const deadline = performance.now() + ms;
    while (!done() && performance.now() < deadline) await Bun.sleep(5);
    return done();
  };
  return {
    socket,
    send: (text: string) => socket.write(text),
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
    until,
    answers: (status: number) => received.split(`HTTP/1.1 ${status} `).length - 1,
  };
}

describe("each mode, through a real fetch", () => {
  test("pass: the upstream answers, the request body reaches it unchanged, one connection and one request counted", async () => {
    const p = await start();
    const result = await call(`${p.url}/echo`, { method: "POST", body: "héllo\r\n\r\nGET / HTTP/1.1" });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body!)).toEqual({ from: "upstream", method: "POST", body: "héllo\r\n\r\nGET / HTTP/1.1" });
    expect([p.accepted, p.requests, upstreamHits]).toEqual([1, 1, 1]);
  });

  test("slow:150: the upstream's answer, at least 150 ms later", async () => {
    const p = await start({ kind: "slow", ms: 150 });
    const result = await call(`${p.url}/echo`, { method: "POST", body: "in order" });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body!).body).toBe("in order");
    expect(result.ms).toBeGreaterThanOrEqual(150);
    expect(result.ms).toBeLessThan(1_500);
  });

  test("blackhole: accepted and read (one request counted), never answered, until the caller's timer aborts", async () => {
    const p = await start({ kind: "blackhole" });
    const result = await call(`${p.url}/echo`, {}, HANG_MS);
    expect(result.status).toBeUndefined();
    expect(result.error?.name).toBe("AbortError");
    expect(result.ms).toBeGreaterThanOrEqual(HANG_MS);
    expect([p.accepted, p.requests, upstreamHits]).toEqual([1, 1, 0]);
  }, LIMIT);

  test("stall: a 200 head promising a JSON body arrives, the body never does", async () => {
    const p = await start({ kind: "stall" });
    const result = await call(`${p.url}/echo`, {}, HANG_MS);
    expect(result.status).toBe(200);
    expect(result.headers?.get("content-type")).toBe("application/json");
    expect(Number(result.headers?.get("content-length"))).toBeGreaterThan(100);
    expect(result.body).toBeUndefined();
    expect(result.error?.name).toBe("AbortError");
    expect(result.ms).toBeGreaterThanOrEqual(HANG_MS);
    expect(upstreamHits).toBe(0);
  }, LIMIT);

  test("reset: the fetch fails with ECONNRESET, nothing reaches the upstream", async () => {
    const p = await start({ kind: "reset" });
    const result = await call(`${p.url}/echo`);
    expect(result.error?.code).toBe("ECONNRESET");
    expect(p.accepted).toBeGreaterThanOrEqual(1);
    expect(upstreamHits).toBe(0);
  });

  test("refused: the fetch fails with ECONNREFUSED, nothing is accepted, and a later mode listens on the same port", async () => {
    const p = await start({ kind: "refused" });
    const port = p.port;
    expect(port).toBeGreaterThan(0);
    expect((await call(`${p.url}/echo`)).error?.code).toBe("ECONNREFUSED");
    expect([p.accepted, p.requests, upstreamHits]).toEqual([0, 0, 0]);
    await p.setMode({ kind: "pass" });
    expect(p.port).toBe(port);
    expect((await call(`${p.url}/echo`)).status).toBe(200);
  });

  test("status:503 with retry-after: the proxy itself answers the INJECTED_FAILURE envelope", async () => {
    const p = await start({ kind: "status", status: 503, retryAfter: "7" });
    const result = await call(`${p.url}/echo`);
    expect(result.status).toBe(503);
    expect(result.headers?.get("content-type")).toBe("application/json");
    expect(result.headers?.get("retry-after")).toBe("7");
    expect(Number(result.headers?.get("content-length"))).toBe(Buffer.byteLength(result.body!));
    expect(JSON.parse(result.body!)).toEqual({ error: { code: "INJECTED_FAILURE", message: expect.any(String) } });
    expect([p.requests, upstreamHits]).toEqual([1, 0]);
    await p.setMode({ kind: "status", status: 500 });
    const plain = await call(`${p.url}/echo`);
    expect(plain.status).toBe(500);
    expect(plain.headers?.has("retry-after")).toBe(false);
  });

  test("not_json: a 200 labelled application/json whose body does not parse", async () => {
    const p = await start({ kind: "not_json" });
    const result = await call(`${p.url}/echo`);
    expect(result.status).toBe(200);
    expect(result.headers?.get("content-type")).toBe("application/json");
    expect(() => JSON.parse(result.body!)).toThrow();
    expect(upstreamHits).toBe(0);
  });

  test("wrong_shape: a 200 with valid JSON no caller expects", async () => {
    const p = await start({ kind: "wrong_shape" });
    const result = await call(`${p.url}/echo`);
    expect(result.status).toBe(200);
    expect(result.headers?.get("content-type")).toBe("application/json");
    expect(JSON.parse(result.body!)).toEqual({ unexpected: "shape" });
    expect(upstreamHits).toBe(0);
  });
});

describe("keep-alive and request framing", () => {
  test("status mode: two fetches on one kept-alive connection are both answered (one connection, two requests)", async () => {
    const p = await start({ kind: "status", status: 500 });
    expect((await call(`${p.url}/a`)).status).toBe(500);
    expect((await call(`${p.url}/b`)).status).toBe(500);
    expect([p.accepted, p.requests]).toEqual([1, 2]);
  });

  test("status mode: a POST with a 1 MB body gets the status, not a reset", async () => {
    const p = await start({ kind: "status", status: 502 });
    const result = await call(`${p.url}/echo`, { method: "POST", body: "x".repeat(1_000_000) });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(502);
  });

  test("status mode: a chunked body is read to its 0-chunk before the answer, pipelined requests answered in order", async () => {
    const p = await start({ kind: "status", status: 429 });
    const raw = await connect(p.port);
    raw.send("POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
    expect(await raw.until(() => raw.received !== "", 100)).toBe(false); // the body is not over: no answer yet
    raw.send("0\r\n\r\nGET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n");
    expect(await raw.until(() => raw.answers(429) === 3)).toBe(true);
    expect(raw.closed).toBe(false);
    expect(p.requests).toBe(3);
    raw.socket.destroy();
  });

  test("status mode: a client's connection: close is answered, then the connection is closed", async () => {
    const p = await start({ kind: "wrong_shape" });
    const raw = await connect(p.port);
    raw.send("GET /a HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    expect(await raw.until(() => raw.closed)).toBe(true);
    expect(raw.received).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(raw.received).toEndWith('\r\n\r\n{"unexpected":"shape"}');
  });

  test("setMode on a kept-alive connection: the connection is closed and the next fetch sees the new mode", async () => {
    const p = await start();
    const raw = await connect(p.port);
    expect((await call(`${p.url}/echo`)).status).toBe(200);
    await p.setMode({ kind: "status", status: 503 });
    expect(await raw.until(() => raw.closed)).toBe(true);
    expect((await call(`${p.url}/echo`)).status).toBe(503);
    expect(p.mode).toEqual({ kind: "status", status: 503 });
    expect(upstreamHits).toBe(1);
  });

  test("requests counts every request on a kept-alive connection where accepted does not; resetCounts zeroes both", async () => {
    const p = await start();
    for (let i = 0; i < 3; i++) expect((await call(`${p.url}/echo`)).status).toBe(200);
    expect([p.accepted, p.requests, upstreamHits]).toEqual([1, 3, 3]);
    p.resetCounts();
    expect([p.accepted, p.requests]).toEqual([0, 0]);
    await call(`${p.url}/echo`);
    expect([p.accepted, p.requests]).toEqual([0, 1]);
  });
});

describe("lifecycle", () => {
  test("close() frees the port: it refuses afterwards and another server can listen on it", async () => {
    const p = await start({ kind: "stall" });
    await call(`${p.url}/echo`, {}, 50); // leaves a stalled connection open for close() to deal with
    const port = p.port;
    await p.close();
    expect((await call(`http://127.0.0.1:${port}/`)).error?.code).toBe("ECONNREFUSED");
    const other = net.createServer();
    await new Promise<void>((resolve, reject) => other.once("error", reject).listen(port, "127.0.0.1", resolve));
    await new Promise((resolve) => other.close(resolve));
  });

  test("a process that used every mode and closed the proxy exits by itself", async () => {
    const script = `
      import { createFaultProxy } from ${JSON.stringify(import.meta.dir + "/fault-proxy.ts")};
      const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
      const proxy = await createFaultProxy({ upstreamPort: upstream.port, mode: { kind: "slow", ms: 20 } });
      for (const kind of ["slow", "blackhole", "stall", "reset", "refused", "not_json"]) {
        if (kind !== "slow") await proxy.setMode({ kind });
        await fetch(proxy.url, { signal: AbortSignal.timeout(30) }).then((r) => r.text()).catch(() => {});
      }
      await proxy.setMode({ kind: "slow", ms: 60_000 });
      fetch(proxy.url).catch(() => {}); // a chunk still waiting in the slow timer when close() runs
      await Bun.sleep(20);
      await proxy.close();
      upstream.stop(true);
      console.log("closed");`;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const exited = await Promise.race([child.exited, Bun.sleep(1_800).then(() => "still running")]);
    if (exited === "still running") child.kill();
    expect(await new Response(child.stderr).text()).toBe("");
    expect(exited).toBe(0);
    expect(await new Response(child.stdout).text()).toBe("closed\n");
  }, LIMIT);

  test("the CLI listens, forwards in the mode it was given, and stops on SIGTERM", async () => {
    const child = Bun.spawn([process.execPath, `${import.meta.dir}/fault-proxy.ts`, "--listen", "0", "--upstream", `127.0.0.1:${upstream.port}`, "--mode", "status:418"], { stdout: "pipe" });
    try {
      const reader = child.stdout.getReader();
      const line = new TextDecoder().decode((await reader.read()).value);
      reader.releaseLock();
      expect(line).toContain("mode status:418");
      const port = /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      expect((await call(`http://127.0.0.1:${port}/`)).status).toBe(418);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
  }, LIMIT);
});

describe("parseFaultMode and describeFaultMode", () => {
  const modes: FaultMode[] = [...EVERY_FAULT, { kind: "status", status: 503, retryAfter: "Wed, 21 Oct 2026 07:28:00 GMT" }];

  test.each(modes.map((mode) => [describeFaultMode(mode), mode] as const))("%s round-trips", (text, mode) => {
    expect(parseFaultMode(text)).toEqual(mode);
  });

  test('"500" is short for status:500, and the texts are the ones tests and logs use', () => {
    expect(parseFaultMode("500")).toEqual({ kind: "status", status: 500 });
    expect(describeFaultMode({ kind: "slow", ms: 50 })).toBe("slow:50");
    expect(describeFaultMode({ kind: "status", status: 500 })).toBe("status:500");
  });

  test("anything else throws, listing the forms (the bench's old latency and refuse included)", () => {
    for (const text of ["latency:50", "refuse", "slow", "slow:-1", "status:99", "status:600", "", "PASS"]) {
      expect(() => parseFaultMode(text)).toThrow(/pass, slow:<ms>, blackhole, stall, reset, refused, status:<code>/);
    }
  });
});
