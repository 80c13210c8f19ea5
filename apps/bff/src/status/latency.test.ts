// Quantiles from the upstream latency histogram: per upstream with the outcomes added, interpolated inside a
// bucket as Prometheus does, capped at the last finite bound, null without calls.
import { describe, expect, test } from "bun:test";
import { Histogram } from "@storefront/shared/observability/metrics";
import { bucketsByUpstream, latencyOf } from "./latency.ts";

const histogram = () => new Histogram("bff_upstream_request_duration_seconds", "x", ["upstream", "outcome"], [0.01, 0.1, 1]);

describe("latencyOf(bucketsByUpstream(histogram))", () => {
  test("adds the outcomes of one upstream and keeps upstreams apart", () => {
    const h = histogram();
    h.observe(["products", "ok"], 0.005);
    h.observe(["products", "timeout"], 0.5);
    h.observe(["cart", "ok"], 0.05);
    const byUpstream = bucketsByUpstream(h);
    expect(latencyOf(byUpstream.get("products")).count).toBe(2);
    expect(latencyOf(byUpstream.get("cart")).count).toBe(1);
    expect(latencyOf(byUpstream.get("users"))).toEqual({ p50: null, p99: null, count: 0 });
  });

  test("interpolates inside the bucket the rank falls in", () => {
    const h = histogram();
    // Ten calls in (0.01, 0.1]: the median is halfway through that bucket, 55 ms; p99 near its top.
    for (let i = 0; i < 10; i++) h.observe(["products", "ok"], 0.05);
    expect(latencyOf(bucketsByUpstream(h).get("products"))).toEqual({ p50: 55, p99: 99.1, count: 10 });
  });

  test("the first bucket starts at 0, and calls past the last bound read as that bound", () => {
    const h = histogram();
    h.observe(["inventory", "ok"], 0.001);
    h.observe(["inventory", "ok"], 0.001);
    expect(latencyOf(bucketsByUpstream(h).get("inventory")).p50).toBe(5);
    const slow = histogram();
    for (let i = 0; i < 4; i++) slow.observe(["inventory", "timeout"], 5);
    expect(latencyOf(bucketsByUpstream(slow).get("inventory"))).toEqual({ p50: 1000, p99: 1000, count: 4 });
  });
});
