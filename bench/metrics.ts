// Requests an app has answered so far, from its Prometheus /metrics (http_requests_total), so a run can say how
// many upstream requests each listing cost. NaN when the app has no such counter.

const IGNORED_ROUTES = new Set(["/metrics", "/health", "/ready"]);

export async function requestsAnswered(appUrl: string): Promise<number> {
  try {
    const res = await fetch(`${appUrl}/metrics`);
    if (!res.ok) return Number.NaN;
    let total = 0;
    let seen = false;
    for (const line of (await res.text()).split("\n")) {
      if (!line.startsWith("http_requests_total{")) continue;
      const route = /route="([^"]*)"/.exec(line)?.[1] ?? "";
      if (IGNORED_ROUTES.has(route)) continue;
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
      seen = true;
    }
    return seen ? total : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
