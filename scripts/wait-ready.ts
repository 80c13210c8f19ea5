// Polls a service's /ready until it answers 200. Each attempt has its own timer rather than a fetch timeout,
// which Bun does not always honour (see platform notes).
export async function waitUntilReady(
  url: string,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const { timeoutMs, intervalMs = 200, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const answer = await probe(url, Math.min(2000, Math.max(1, deadline - Date.now())));
    if (answer === true) return;
    last = answer;
    await Bun.sleep(intervalMs);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last})`);
}

async function probe(url: string, ms: number): Promise<true | string> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(`no answer within ${ms} ms`);
    }, ms);
  });
  const attempt = (async () => {
    try {
      // connection: close, so no idle keep-alive connection is left for the app to wait on when it stops.
      const res = await fetch(url, { signal: controller.signal, headers: { connection: "close" } });
      await res.arrayBuffer();
      return res.ok ? (true as const) : `status ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
