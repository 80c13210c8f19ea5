import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createServiceApp } from "../service-app.ts";
import { createLogger } from "./logger.ts";
import { createObservability } from "./observability.ts";

function appWithLog(level: "info" | "warn" = "info") {
  const lines: any[] = [];
  const obs = createObservability("demo", { logger: createLogger("demo", level, (l) => lines.push(JSON.parse(l))) });
  const app = createServiceApp({ service: "demo", ready: async () => {}, observability: obs });
  const users = new Hono().get("/:id", (c) => c.json({ id: c.req.param("id") })).get("/:id/boom", () => {
    throw new Error("secret detail");
  });
  app.route("/users", users);
  return { app, lines, obs };
}

describe("request id", () => {
  test("a sane incoming x-request-id is kept and echoed", async () => {
    const { app, lines } = appWithLog();
    const res = await app.request("/users/1", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(lines[0].request_id).toBe("abc-123");
  });

  test("absent or unsafe ids are replaced by a generated one", async () => {
    const { app } = appWithLog();
    const generated = (await app.request("/users/1")).headers.get("x-request-id");
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = (await app.request("/users/1", { headers: { "x-request-id": "a b\"<script>" } })).headers.get("x-request-id");
    expect(unsafe).not.toBe('a b"<script>');
    expect(unsafe).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("access log", () => {
  test("one JSON line per request with route pattern, status and ms", async () => {
    const { app, lines } = appWithLog();
    await app.request("/users/42");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "info", service: "demo", msg: "request", method: "GET", route: "/users/:id", path: "/users/42", status: 200 });
    expect(typeof lines[0].ms).toBe("number");
    expect(typeof lines[0].time).toBe("string");
  });

  test("a 500 is logged at error with the stack kept out of the response", async () => {
    const { app, lines } = appWithLog();
    const res = await app.request("/users/1/boom");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret detail");
    const unhandled = lines.find((l) => l.msg === "unhandled error");
    expect(unhandled.error).toContain("secret detail");
    expect(unhandled.request_id).toBe(res.headers.get("x-request-id"));
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ level: "error", status: 500 });
  });

  test("LOG_LEVEL warn drops the info lines", async () => {
    const { app, lines } = appWithLog("warn");
    await app.request("/users/1");
    expect(lines).toEqual([]);
  });
});

describe("GET /metrics", () => {
  test("counts requests by method, route pattern and status, with latency histograms", async () => {
    const { app } = appWithLog();
    await app.request("/users/1");
    await app.request("/users/2");
    await app.request("/nowhere/at/all");
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain('http_requests_total{method="GET",route="/users/:id",status="200"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/users/:id",status="200"} 2');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });
});
