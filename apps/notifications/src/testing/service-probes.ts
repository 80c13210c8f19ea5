// Reading a running service from outside, as an operator would: GET a path under a timer of the test's own
// (Bun's fetch timeout is not always honoured, see platform notes), and the series of one metric on /metrics.

export type Probe = { status: number; body: string } | { error: string };

export async function probe(url: string, timeoutMs = 5_000): Promise<Probe> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    // connection: close, so no idle keep-alive connection outlives the probe.
    const res = await fetch(url, { signal: controller.signal, headers: { connection: "close" } });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The sum over every series of a counter in Prometheus text (`name{labels} value` lines), or undefined when
 * the metric is not exposed at all (so a caller can tell "zero" from "not there").
 */
export function counterTotal(metricsText: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of metricsText.split("\n")) {
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/);
    if (match?.[1] !== name) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}
