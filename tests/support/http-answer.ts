// One HTTP request as a watching client sees it (an answer, a refused connection, or something worse), for
// tests that poll a stack while it starts, crashes or restarts.
export type Answer = { status: number; body: unknown; json: boolean } | { status: string; body?: undefined; json?: undefined };

/** One GET on a new connection, under its own timer; a refused connection is status "refused", other failures say what happened. */
export async function getOnce(url: string, headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<Answer> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ status: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const attempt = (async (): Promise<Answer> => {
    try {
      const res = await fetch(url, { headers: { ...headers, connection: "close" }, signal: controller.signal });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text), json: true };
      } catch {
        return { status: res.status, body: text, json: false };
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ECONNREFUSED" || code === "ConnectionRefused") return { status: "refused" };
      return { status: `no HTTP answer (${code ?? "no code"}: ${(err as Error).message})` };
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with a listing answer, if anything: 200 with a listing, or 502/503/504 in the error envelope. */
export function listingProblem(answer: Answer & { status: number }): string | undefined {
  const shown = `${answer.status} ${typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body)}`.slice(0, 300);
  if (![200, 502, 503, 504].includes(answer.status)) return `unexpected status: ${shown}`;
  if (!answer.json || typeof answer.body !== "object" || answer.body === null) return `not a JSON object: ${shown}`;
  const body = answer.body as { products?: unknown; degraded?: unknown; error?: { code?: unknown; message?: unknown } };
  if (answer.status === 200) return Array.isArray(body.products) && Array.isArray(body.degraded) ? undefined : `not a listing: ${shown}`;
  return typeof body.error?.code === "string" && typeof body.error.message === "string" ? undefined : `not the error envelope: ${shown}`;
}
