import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { CircuitOpenError } from "../circuit-breaker.ts";
import { createDeadline, DeadlineExceededError } from "../deadline.ts";
import type { Timing } from "../observability/request-context.ts";
import { TooManyRetriesError } from "../retry.ts";
import { createUpstreamClient } from "./client.ts";
import { UpstreamInvalidResponseError, UpstreamStatusError } from "./errors.ts";

// A real upstream on a loopback port; each test sets how it answers.
type Seen = { method: string; path: string; headers: Headers; body: string };
let answer: (req: Request) => Response | Promise<Response> = () => Response.json([]);
let seen: Seen[] = [];
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const url = new URL(req.url);
    seen.push({ method: req.method, path: url.pathname + url.search, headers: req.headers, body: await req.text() });
    return answer(req);
  },
});
const base = `http://127.0.0.1:${server.port}`;
afterEach(() => {
  answer = () => Response.json([]);
  seen = [];
});
afterAll(() => server.stop(true));

const hang = () => new Promise<Response>(() => {});
const FAST_RETRY = { attempts: 3, baseMs: 1, maxMs: 5, minAttemptMs: 1 };

describe("the upstream client owns the deadline", () => {
  test("a number is a deadline of the call's own: a hung upstream ends in DeadlineExceededError on time", async () => {
    answer = hang;
    const client = createUpstreamClient("u", base);
    const started = performance.now();
    const error: any = await client.getJson("/slow", { deadline: 80 }).catch((e) => e);
    expect(rootOf(error)).toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(performance.now() - started).toBeLessThan(600);
  });

  test("the deadline covers reading the body: headers then a stalled body still ends on time", async () => {
    answer = () => new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("[")) }), { headers: { "content-type": "application/json" } });
    const error: any = await createUpstreamClient("u", base, { retry: null }).getJson("/stall", { deadline: 80 }).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
  });

  test("x-deadline-ms carries the time left at each attempt, and the request id goes along", async () => {
    let n = 0;
    answer = () => (++n === 1 ? new Response("no", { status: 503 }) : Response.json({ ok: true }));
    const client = createUpstreamClient("u", base, { retry: FAST_RETRY });
    expect(await client.getJson("/x", { deadline: 1000, requestId: "req-1" })).toEqual({ ok: true });
    const budgets = seen.map((s) => Number(s.headers.get("x-deadline-ms")));
    expect(budgets).toHaveLength(2);
    expect(budgets[0]).toBeLessThanOrEqual(1000);
    expect(budgets[0]).toBeGreaterThan(500);
    expect(budgets[1]).toBeLessThanOrEqual(budgets[0]!);
    expect(seen.every((s) => s.headers.get("x-request-id") === "req-1")).toBe(true);
  });

  test("a shared Deadline: several calls end together when it fires, and its owner's abort() stops them", async () => {
    answer = hang;
    const client = createUpstreamClient("u", base, { retry: null });
    const deadline = createDeadline(60);
    const results = await Promise.allSettled([client.getJson("/a", { deadline }), client.getJson("/b", { deadline })]);
    expect(results.map((r) => (r.status === "rejected" ? (r.reason as Error).name : "fulfilled"))).toEqual(["DeadlineExceededError", "DeadlineExceededError"]);

    const owner = createDeadline(10_000);
    const call = client.getJson("/c", { deadline: owner });
    owner.abort();
    expect(await call.catch((e) => e)).toBeInstanceOf(Error);
  });

  test("the caller's signal ends the call at once with its reason as an Error", async () => {
    answer = hang;
    const job = new AbortController();
    const call = createUpstreamClient("u", base, { retry: null }).getJson("/job", { deadline: 10_000, signal: job.signal });
    setTimeout(() => job.abort("the worker is shutting down"), 20);
    const error: any = await call.catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain("the worker is shutting down");
  });

  test("every call records its time and outcome in the request's timings", async () => {
    const timings: Timing[] = [];
    const client = createUpstreamClient("u", base, { retry: null });
    await client.getJson("/ok", { deadline: 1000, timings });
    answer = () => new Response("nope", { status: 500 });
    await client.getJson("/bad", { deadline: 1000, timings }).catch(() => {});
    expect(timings.map((t) => [t.name, t.outcome])).toEqual([
      ["u", "ok"],
      ["u", "server_error"],
    ]);
  });
});

describe("GET", () => {
  test("parse runs once per shared call; a wrong shape is UpstreamInvalidResponseError and is not retried", async () => {
    answer = async () => {
      await Bun.sleep(30);
      return Response.json({ not: "an array" });
    };
    let parsed = 0;
    const parse = (body: unknown) => {
      parsed++;
      if (!Array.isArray(body)) throw new UpstreamInvalidResponseError("u", "expected an array");
      return body;
    };
    const client = createUpstreamClient("u", base, { retry: FAST_RETRY });
    const results = await Promise.allSettled([1, 2, 3].map(() => client.getJson("/same", { deadline: 1000 }, parse)));
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof UpstreamInvalidResponseError)).toBe(true);
    expect({ requests: seen.length, parsed }).toEqual({ requests: 1, parsed: 1 });
  });

  test("a body that is not JSON is UpstreamInvalidResponseError", async () => {
    answer = () => new Response("<html>oops</html>", { headers: { "content-type": "application/json" } });
    expect(await createUpstreamClient("u", base).getJson("/x", { deadline: 1000 }).catch((e) => e)).toBeInstanceOf(UpstreamInvalidResponseError);
  });

  test("a 4xx is the caller's: UpstreamStatusError with its body, no retry, and the breaker stays closed", async () => {
    answer = () => Response.json({ error: { code: "NOT_FOUND" } }, { status: 404 });
    const client = createUpstreamClient("u", base, { retry: FAST_RETRY, breaker: { minCalls: 1 } });
    const error: any = await client.getJson("/missing", { deadline: 1000 }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect({ status: error.status, body: error.body }).toEqual({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    expect(seen).toHaveLength(1);
    expect(client.breaker.state).toBe("closed");
  });

  test("a 5xx is retried within the deadline, then TooManyRetriesError; enough of them open the breaker", async () => {
    answer = () => new Response("down", { status: 503 });
    const client = createUpstreamClient("u", base, { retry: FAST_RETRY, breaker: { minCalls: 3 } });
    const error: any = await client.getJson("/down", { deadline: 1000 }).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRetriesError);
    expect(seen).toHaveLength(3);
    expect(client.breaker.state).toBe("open");
    expect(rootOf(await client.getJson("/down", { deadline: 1000 }).catch((e) => e))).toBeInstanceOf(CircuitOpenError);
    expect(seen).toHaveLength(3);
  });

  test("a redirect is not followed: the 3xx is an UpstreamStatusError", async () => {
    answer = () => new Response(null, { status: 302, headers: { location: "http://example.invalid/" } });
    const error: any = await createUpstreamClient("u", base).getJson("/moved", { deadline: 1000 }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect(error.status).toBe(302);
  });
});

describe("send", () => {
  test("JSON in, the reply's status and parsed body out; a 4xx is returned, never retried", async () => {
    answer = (req) => Response.json({ method: req.method }, { status: req.method === "POST" ? 201 : 409 });
    const client = createUpstreamClient("u", base);
    expect(await client.send("POST", "/things", { deadline: 1000, json: { a: 1 } })).toMatchObject({ status: 201, body: { method: "POST" } });
    const refused = await client.send("PUT", "/things/1", { deadline: 1000, json: { a: 2 } });
    expect(refused).toMatchObject({ status: 409, body: { method: "PUT" } });
    expect(refused.headers.get("content-type")).toStartWith("application/json"); // the reply's headers, for the caller to pass on
    expect(seen.map((s) => [s.method, s.headers.get("content-type"), s.body])).toEqual([
      ["POST", "application/json", '{"a":1}'],
      ["PUT", "application/json", '{"a":2}'],
    ]);
  });

  test("a 5xx throws UpstreamStatusError after one attempt (a change is not idempotent)", async () => {
    answer = () => new Response("boom", { status: 500 });
    const error: any = await createUpstreamClient("u", base, { retry: FAST_RETRY }).send("POST", "/things", { deadline: 1000, json: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect(seen).toHaveLength(1);
  });

  test("a raw body is sent byte for byte with the caller's headers; response 'ignore' drops a non-JSON answer", async () => {
    answer = () => new Response("ok");
    const raw = '{"b":2,"a":1}';
    const reply = await createUpstreamClient("u", base).send("POST", "", { deadline: 1000, body: raw, headers: { "x-sig": "s" }, response: "ignore" });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: 200, body: null });
    expect(seen[0]!.body).toBe(raw);
    expect(seen[0]!.headers.get("x-sig")).toBe("s");
  });
});

function rootOf(error: unknown): unknown {
  return error instanceof TooManyRetriesError ? error.cause : error;
}
