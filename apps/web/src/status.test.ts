// The status page against the stub BFF: who may open it (admins; everyone in a development run), every part
// rendered (breaker colour and word, sparkline SVG, queues, outboxes, dead letters, Redis), a part that is
// null said in words, the self-refresh, and the switches form (the BFF call, its 404 "switches are off").
import { beforeEach, describe, expect, test } from "bun:test";
import { createStatusHistory } from "./status-history.ts";
import { textOf, type Browser } from "./testing/browser.ts";
import type { StubBff } from "./testing/stub-bff.ts";
import { webApp } from "./testing/web-app.ts";
import { sparkPoints } from "./views/sparkline.tsx";

let stub: StubBff;
let browser: Browser;
let clock = 1_000_000;
const now = () => clock;

async function start(development: boolean) {
  ({ stub, browser } = await webApp({ development, now }));
}

describe("who may open /status (not a development run)", () => {
  beforeEach(() => start(false));

  test("a visitor is sent to the login page", async () => {
    expect((await browser.get("/status")).location).toBe("/login?next=%2Fstatus&notice=login-needed");
  });

  for (const email of ["user1@storefront.test", "courier1@storefront.test"]) {
    test(`${email}: the 403 page; the switches refused too`, async () => {
      await browser.login(email);
      expect((await browser.get("/status")).status).toBe(403);
      expect((await browser.post("/status/switches", { fail_rate: "50" })).status).toBe(403);
      expect(stub.requests.some((r) => r.path.startsWith("/admin"))).toBe(false);
    });
  }

  test("an admin sees it, reading GET /admin/status with their token", async () => {
    await browser.login("admin@storefront.test");
    const page = await browser.get("/status");
    expect(page.status).toBe(200);
    const call = stub.requests.find((r) => r.path === "/admin/status");
    expect(call?.authorization).toBe(`Bearer ${browser.jar.get("sf_access")}`);
  });
});

describe("in a development run", () => {
  beforeEach(() => start(true));

  test("a visitor opens it: told the BFF gives the status to admins only; the switches are shown", async () => {
    const page = await browser.get("/status");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("The BFF gives its status to admins only");
    expect(page.html).toContain('action="/status/switches"');
  });

  test("a visitor's switches: the BFF's 401 said in words", async () => {
    await browser.get("/status");
    const page = await browser.post("/status/switches", { fail_rate: "50" });
    expect(page.location).toBe("/status?notice=switches-admin-only");
  });

  test("a customer opens it too (the BFF's 403 said in words, not the 403 page)", async () => {
    await browser.login("user1@storefront.test");
    const page = await browser.get("/status");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("The BFF gives its status to admins only");
  });
});

describe("the page as an admin", () => {
  beforeEach(async () => {
    await start(false);
    await browser.login("admin@storefront.test");
  });

  test("every part: breakers in colour and words, latency, queues, dead letters, outboxes, Redis", async () => {
    const page = await browser.get("/status");
    const text = textOf(page.html);
    expect(page.html).toContain('class="state closed">Closed: calls go through');
    expect(page.html).toContain('class="state open">Open: calls are refused for now');
    expect(text).toContain("tries again in 2.5 s");
    expect(text).toContain("4.2 ms, 31 ms (120 calls)");
    expect(text).toMatch(/notifications-order-events 2 1 0 3/);
    expect(text).toContain("3 dead letters:");
    expect(text).toContain("notifications-order-events: 3");
    expect(text).toMatch(/orders 7/);
    expect(text).toMatch(/delivery Not answering/);
    expect(text).toContain("Redis: up");
    expect(text).toContain("Read at 22 Nov 2026, 10:00 UTC");
  });

  test("an upstream given as replicas: how many take calls, and the one left out and for how long", async () => {
    (stub.state.status.upstreams as Record<string, unknown>[])[0]!.replicas = [
      { url: "http://10.0.0.5:8000", state: "closed", outstanding: 1, ejected_for_ms: 1500 },
      { url: "http://10.0.0.6:8000", state: "closed", outstanding: 0, ejected_for_ms: null },
    ];
    const text = textOf((await browser.get("/status")).html);
    expect(text).toContain("(1 of 2 replicas taking calls; http://10.0.0.5:8000 left out for 1.5 s)");
  });

  test("reloads itself every 2 seconds (meta refresh, no script); ?refresh=off stops it", async () => {
    const page = await browser.get("/status");
    expect(page.html).toContain('<meta http-equiv="refresh" content="2"/>');
    expect(page.html).not.toContain("<script");
    expect(page.headers.get("content-security-policy")).not.toContain("script-src");
    const off = await browser.get("/status?refresh=off");
    expect(off.html).not.toContain('http-equiv="refresh"');
    expect(off.html).toContain('<a href="/status">Reload every 2 seconds</a>');
  });

  test("a sparkline per upstream from the readings over time, labelled in words", async () => {
    const latencies = [10, 30, 20];
    for (const p50 of latencies) {
      (stub.state.status.upstreams as { latency_ms: { p50: number } }[])[1]!.latency_ms.p50 = p50;
      await browser.get("/status");
      clock += 2000;
    }
    const page = await browser.get("/status");
    const svg = /<svg class="spark"[^>]*aria-label="Median latency of inventory[^"]*"[\s\S]*?<\/svg>/.exec(page.html)?.[0];
    expect(svg).toBeDefined();
    expect(svg).toContain('role="img"');
    expect(svg).toContain("over the last 4 readings: from 10 ms to 30 ms, now 20 ms");
    expect(svg).toContain(`points="${sparkPoints([10, 30, 20, 20])}"`);
  });

  test("an upstream's name with markup is escaped, in the table and in the sparkline's label", async () => {
    (stub.state.status.upstreams as { name: string }[])[0]!.name = `<script>alert("x")</script>`;
    const page = await browser.get("/status");
    expect(page.html).not.toContain("<script>alert");
    expect(page.html).toContain("Median latency of &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  test("each part null (or left out) is said in words; the rest still renders", async () => {
    stub.state.status = { ...stub.state.status, upstreams: null, queues: null, redis: "down" };
    delete stub.state.status.outboxes;
    const page = await browser.get("/status");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("The breakers are unavailable right now.");
    expect(text).toContain("The queues are unavailable right now.");
    expect(text).toContain("Dead letters are unknown right now");
    expect(text).toContain("The outbox backlogs are unavailable right now.");
    expect(text).toContain("Redis: down");
  });

  test("the BFF down: the page (503) says so, keeps reloading, no stack", async () => {
    stub.state.fault = "refused";
    const page = await browser.get("/status");
    expect(page.status).toBe(503);
    expect(textOf(page.html)).toContain("The BFF is not answering right now");
    expect(page.html).toContain('http-equiv="refresh"');
  });

  test("a body of another shape: the same words, not a half page", async () => {
    stub.on("GET", "/admin/status", (c) => c.json({ upstreams: "many" }));
    const page = await browser.get("/status");
    expect(page.status).toBe(503);
    expect(textOf(page.html)).toContain("The BFF is not answering right now");
  });
});

describe("the switches", () => {
  beforeEach(async () => {
    await start(false);
    await browser.login("admin@storefront.test");
  });

  const puts = () => stub.requests.filter((r) => r.method === "PUT" && r.path === "/admin/chaos/inventory");

  test("the form carries the CSRF token; setting them: PUT /admin/chaos/inventory {delay_ms, fail_rate}", async () => {
    const page = await browser.get("/status");
    const form = /<form method="post" action="\/status\/switches"[\s\S]*?<\/form>/.exec(page.html)![0];
    expect(form).toContain(`name="_csrf" value="${browser.jar.get("sf_csrf")}"`);
    const set = await browser.post("/status/switches", { delay_min: "100", delay_max: "900", fail_rate: "25" });
    expect(set.location).toBe("/status?notice=switches-set");
    expect(puts()[0]!.body).toEqual({ delay_ms: { min: 100, max: 900 }, fail_rate: 0.25 });
    expect(textOf((await browser.get(set.location!)).html)).toContain("The switches are set");
  });

  test("no delay is null; one delay alone is a fixed delay; switching off", async () => {
    await browser.post("/status/switches", { delay_min: "", delay_max: "", fail_rate: "0" });
    await browser.post("/status/switches", { delay_min: "", delay_max: "300", fail_rate: "100" });
    expect(puts().map((r) => r.body)).toEqual([
      { delay_ms: null, fail_rate: 0 },
      { delay_ms: { min: 300, max: 300 }, fail_rate: 1 },
    ]);
  });

  test("bad values are refused here in words, nothing sent", async () => {
    const bad: Record<string, string>[] = [{ fail_rate: "101" }, { fail_rate: "-1" }, { fail_rate: "" }, { delay_min: "900", delay_max: "100", fail_rate: "0" }, { delay_min: "60001", fail_rate: "0" }];
    for (const fields of bad) {
      expect((await browser.post("/status/switches", fields)).location).toBe("/status?notice=switches-invalid");
    }
    expect(puts()).toHaveLength(0);
  });

  test("inventory without INVENTORY_CHAOS_SWITCHES (the BFF's 404): 'switches are off' and how to turn them on", async () => {
    stub.state.chaos = null;
    const page = await browser.post("/status/switches", { fail_rate: "50" });
    expect(page.location).toBe("/status?notice=switches-off");
    expect(textOf((await browser.get(page.location!)).html)).toContain("The switches are off: start inventory with INVENTORY_CHAOS_SWITCHES=1.");
  });

  test("without the CSRF token: the 403 page, nothing sent", async () => {
    expect((await browser.post("/status/switches", { fail_rate: "50" }, { csrf: null })).status).toBe(403);
    expect(puts()).toHaveLength(0);
  });
});

describe("the latency history", () => {
  test("a ring of at most `size` samples per upstream; readings close together make one sample", () => {
    let t = 0;
    const history = createStatusHistory({ now: () => t, size: 3, minGapMs: 1000 });
    for (const p50 of [1, 2, 3, 4]) {
      history.record([{ name: "a", p50, p99: null }]);
      t += 1000;
    }
    expect(history.samples("a").map((s) => s.p50)).toEqual([2, 3, 4]);
    t += 10;
    history.record([{ name: "a", p50: 9, p99: null }]);
    history.record([{ name: "a", p50: 8, p99: null }]);
    expect(history.samples("a").map((s) => s.p50)).toEqual([3, 4, 8]);
    expect(history.samples("b")).toEqual([]);
  });

  test("sparkline points: oldest left, highest at the top, one reading a flat line", () => {
    expect(sparkPoints([0, 10])).toBe("2.0,26.0 118.0,2.0");
    expect(sparkPoints([5])).toBe("2.0,2.0 118.0,2.0");
    expect(sparkPoints([])).toBe("");
  });
});
