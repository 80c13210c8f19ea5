import { describe, expect, test } from "bun:test";
import { Registry } from "./metrics.ts";

describe("Registry", () => {
  test("renders counters with labels in the Prometheus text format", () => {
    const registry = new Registry();
    const c = registry.counter("jobs_total", "Jobs done.", ["queue", "status"]);
    c.inc(["mail", "ok"]);
    c.inc(["mail", "ok"], 2);
    c.inc(["sms", 'bad "quote"\n']);
    expect(registry.render()).toBe(
      [
        "# HELP jobs_total Jobs done.",
        "# TYPE jobs_total counter",
        'jobs_total{queue="mail",status="ok"} 3',
        'jobs_total{queue="sms",status="bad \\"quote\\"\\n"} 1',
        "",
      ].join("\n"),
    );
  });

  test("histograms are cumulative with +Inf, sum and count", () => {
    const registry = new Registry();
    const h = registry.histogram("latency_seconds", "Latency.", ["route"], [0.01, 0.1, 1]);
    for (const v of [0.005, 0.01, 0.05, 0.5, 3]) h.observe(["/a"], v);
    const text = registry.render();
    expect(text).toContain('latency_seconds_bucket{route="/a",le="0.01"} 2');
    expect(text).toContain('latency_seconds_bucket{route="/a",le="0.1"} 3');
    expect(text).toContain('latency_seconds_bucket{route="/a",le="1"} 4');
    expect(text).toContain('latency_seconds_bucket{route="/a",le="+Inf"} 5');
    expect(text).toContain('latency_seconds_sum{route="/a"} 3.565');
    expect(text).toContain('latency_seconds_count{route="/a"} 5');
  });

  test("gauges are collected when rendered", () => {
    const registry = new Registry();
    let value = 1;
    registry.gauge("queue_depth", "Depth.", ["queue"], () => [[["mail"], value]]);
    expect(registry.render()).toContain('queue_depth{queue="mail"} 1');
    value = 7;
    expect(registry.render()).toContain('queue_depth{queue="mail"} 7');
  });
});
