// The client over a list of replicas, through real sockets: a replica that is gone (its port refuses), one that
// answers 500s, one that is slow; and a single address working as it did before lists.
import { afterEach, describe, expect, test } from "bun:test";
import { createUpstreamClient } from "./client.ts";
import { UpstreamStatusError } from "./errors.ts";

type Replica = { url: string; hits: number; server: ReturnType<typeof Bun.serve> };
const servers: ReturnType<typeof Bun.serve>[] = [];

function replica(answer: (req: Request) => Response | Promise<Response> = () => Response.json({ ok: true })): Replica {
  const r = { hits: 0 } as Replica;
  r.server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) => {
      r.hits++;
      return answer(req);
    },
  });
  servers.push(r.server);
  r.url = `http://127.0.0.1:${r.server.port}`;
  return r;
}

/** An address nothing listens on: a server that was started and stopped. */
function goneAddress() {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const url = `http://127.0.0.1:${s.port}`;
  s.stop(true);
  return url;
}

afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
});

const fastRetry = { attempts: 3, baseMs: 1, maxMs: 5, minAttemptMs: 10 };

describe("an upstream given as a list of replicas", () => {
  test("GETs are spread over the replicas", async () => {
    const [a, b] = [replica(), replica()];
    const client = createUpstreamClient("cart", `${a.url},${b.url}`, { retry: fastRetry });
    for (let k = 0; k < 20; k++) await client.getJson(`/items/${k}`, { deadline: 1000 });
    expect(a.hits).toBe(10);
    expect(b.hits).toBe(10);
  });

  test("a replica that is gone costs one refused attempt: every GET succeeds on the other, and the dead one is left alone after that", async () => {
    const a = replica();
    const client = createUpstreamClient("cart", `${goneAddress()},${a.url}`, { retry: fastRetry });
    for (let k = 0; k < 30; k++) await client.getJson(`/items/${k}`, { deadline: 1000 });
    const [gone] = client.breaker.snapshot().instances!;
    expect(gone!.ejected_for_ms).toBeGreaterThan(0);
    expect(gone!.calls).toBe(1);
    expect(a.hits).toBe(30);
    // Calls already on their way when it died each cost one retry, no more: none fails.
    const other = createUpstreamClient("cart", `${goneAddress()},${a.url}`, { retry: fastRetry });
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, k) => other.getJson(`/items/${k}`, { deadline: 1000 })));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(other.breaker.state).toBe("closed");
  });

  test("a change refused at connect (never sent) goes to the next replica; one sent and failed is not sent again", async () => {
    const a = replica(() => Response.json({ created: true }, { status: 201 }));
    const client = createUpstreamClient("cart", `${goneAddress()},${a.url}`, { retry: fastRetry });
    for (let k = 0; k < 4; k++) {
      const reply = await client.send("POST", "/items", { deadline: 1000, json: { k } });
      expect(reply.status).toBe(201);
    }
    expect(a.hits).toBe(4);

    const failing = replica(() => Response.json({ error: { code: "INTERNAL", message: "boom" } }, { status: 500 }));
    const good = replica(() => Response.json({ created: true }, { status: 201 }));
    const other = createUpstreamClient("cart", `${failing.url},${good.url}`, { retry: fastRetry });
    const outcomes = await Promise.allSettled([0, 1].map((k) => other.send("POST", "/items", { deadline: 1000, json: { k } })));
    expect(failing.hits + good.hits).toBe(2);
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason)).toEqual(
      failing.hits === 1 ? [expect.any(UpstreamStatusError)] : [],
    );
  });

  test("a replica answering 500s is retried on the other and ejected after three failures in a row", async () => {
    const bad = replica(() => new Response("no", { status: 500 }));
    const good = replica();
    const client = createUpstreamClient("cart", `${bad.url},${good.url}`, { retry: fastRetry });
    for (let k = 0; k < 20; k++) await client.getJson(`/items/${k}`, { deadline: 1000 });
    expect(bad.hits).toBe(3);
    expect(client.breaker.snapshot().instances![0]!.ejected_for_ms).toBeGreaterThan(0);
  });

  test("a slow replica gets fewer calls: the one with fewer calls in flight is chosen", async () => {
    const slow = replica(async () => {
      await Bun.sleep(100);
      return Response.json({ ok: true });
    });
    const fast = replica();
    const client = createUpstreamClient("cart", `${slow.url},${fast.url}`, { retry: fastRetry });
    // 10 callers, 10 calls each, one after another: while the slow one holds a call, the fast one has none.
    await Promise.all(
      Array.from({ length: 10 }, async (_, caller) => {
        for (let k = 0; k < 10; k++) await client.getJson(`/c${caller}/${k}`, { deadline: 2000 });
      }),
    );
    expect(slow.hits + fast.hits).toBe(100);
    expect(slow.hits).toBeLessThanOrEqual(25);
  });

  test("a replica shutting down (Connection: close on its answers) gets no new calls after its first such answer", async () => {
    const closing = replica(() => Response.json({ ok: true }, { headers: { connection: "close" } }));
    const other = replica();
    const client = createUpstreamClient("cart", `${closing.url},${other.url}`, { retry: fastRetry });
    for (let k = 0; k < 10; k++) await client.send("POST", "/items", { deadline: 1000, json: { k } });
    for (let k = 0; k < 10; k++) await client.getJson(`/items/${k}`, { deadline: 1000 });
    expect(closing.hits).toBe(1);
    expect(other.hits).toBe(19);
    expect(client.breaker.snapshot().instances![0]!.failures).toBe(0);
  });

  test("every replica gone: the call fails with the designed error within its deadline, and the pool's breaker opens", async () => {
    const client = createUpstreamClient("cart", `${goneAddress()},${goneAddress()}`, { retry: fastRetry, breaker: { minCalls: 2 } });
    for (let k = 0; k < 6; k++) await client.getJson(`/items/${k}`, { deadline: 500 }).catch(() => {});
    const error = (await client.getJson("/items/x", { deadline: 500 }).catch((e: Error) => e)) as Error;
    expect(["CircuitOpenError", "TooManyRetriesError"]).toContain(error.name);
    expect(client.breaker.state).toBe("open");
  });
});

describe("an upstream given as one address", () => {
  test("works as before lists: the breaker is the upstream's own and has no instances", async () => {
    const a = replica();
    const client = createUpstreamClient("cart", `${a.url}/`, { retry: fastRetry });
    expect(await client.getJson("/x", { deadline: 1000 })).toEqual({ ok: true });
    expect(client.breaker.name).toBe("cart");
    expect(client.breaker.snapshot().instances).toBeUndefined();
  });
});
