// A small fixed-rate (open-loop) HTTP/1.1 load generator for scenario 2, run as its own process so that its
// event loop is not the bench's (which hosts the fault proxy). Raw keep-alive sockets rather than fetch: Bun's
// fetch keeps at most 64 idle connections and would open a new one per request above that. For every answer it
// keeps the latency and the BFF's Server-Timing header, so the time the BFF spent waiting on upstreams can be
// taken out of each answer's latency.
//   bun bench/fixed-rate.ts --url http://127.0.0.1:9000/products/all --header "authorization: Bearer $TOKEN" --rate 500 --duration 10
import type { Socket } from "bun";
import { fileURLToPath } from "node:url";

export type FixedRateResult = {
  sent: number;
  answered: number;
  durationS: number;
  /** Answers per second over the run. */
  rate: number;
  statuses: Record<string, number>;
  errors: number;
  connections: number;
  /** Per answer, ms, in order of completion. */
  latencies: number[];
  /** Per answer: the Server-Timing header ("" when absent). */
  serverTimings: string[];
  /** How late the generator sent (behind schedule), p99 in ms: above a few ms, it was the bottleneck. */
  sendLagP99: number;
};

type Pending = { sentAt: number };
type Conn = { socket: Socket<Conn> | null; buffer: Buffer; pending: Pending | null };

export async function fixedRate(options: { url: string; header?: string; rate: number; durationS: number; maxConnections?: number }): Promise<FixedRateResult> {
  const url = new URL(options.url);
  const port = Number(url.port || 80);
  const headerLine = options.header ? `${options.header}\r\n` : "";
  const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${headerLine}\r\n`);
  const maxConnections = options.maxConnections ?? 1000;
  const free: Conn[] = [];
  const all: Conn[] = [];
  const latencies: number[] = [];
  const serverTimings: string[] = [];
  const statuses: Record<string, number> = {};
  const lags: number[] = [];
  let errors = 0;
  let sent = 0;

  const finish = (conn: Conn, status: number, serverTiming: string) => {
    const pending = conn.pending!;
    latencies.push(performance.now() - pending.sentAt);
    serverTimings.push(serverTiming);
    statuses[status] = (statuses[status] ?? 0) + 1;
    conn.pending = null;
    free.push(conn);
  };

  // One response per connection at a time: headers up to the blank line, then content-length bytes.
  const onData = (conn: Conn, chunk: Buffer) => {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    const end = conn.buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = conn.buffer.subarray(0, end).toString("latin1");
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (conn.buffer.length < end + 4 + length) return;
    conn.buffer = conn.buffer.subarray(end + 4 + length);
    const status = Number(head.slice(9, 12));
    const serverTiming = /\r\nserver-timing:\s*([^\r]*)/i.exec(head)?.[1] ?? "";
    finish(conn, status, serverTiming);
  };

  const open = async (): Promise<Conn> => {
    const conn: Conn = { socket: null, buffer: Buffer.alloc(0), pending: null };
    all.push(conn);
    conn.socket = await Bun.connect<Conn>({
      hostname: url.hostname,
      port,
      data: conn,
      socket: {
        data: (s, chunk) => onData(s.data, chunk),
        close: (s) => {
          const c = s.data;
          c.socket = null;
          if (c.pending) errors++;
          c.pending = null;
        },
        error: () => {},
      },
    });
    return conn;
  };

  const send = async (scheduledAt: number) => {
    let conn = free.pop();
    while (conn && !conn.socket) conn = free.pop();
    if (!conn) {
      if (all.length >= maxConnections) {
        errors++;
        return;
      }
      try {
        conn = await open();
      } catch {
        errors++;
        return;
      }
    }
    const now = performance.now();
    lags.push(now - scheduledAt);
    conn.pending = { sentAt: now };
    sent++;
    conn.socket!.write(request);
  };

  const intervalMs = 1000 / options.rate;
  const start = performance.now();
  const stopAt = start + options.durationS * 1000;
  let next = start;
  while (performance.now() < stopAt) {
    const now = performance.now();
    while (next <= now && next < stopAt) {
      void send(next);
      next += intervalMs;
    }
    await Bun.sleep(Math.max(0, Math.min(1, next - performance.now())));
  }
  // Let the last answers arrive (bounded), then close.
  const drainUntil = performance.now() + 5000;
  while (all.some((c) => c.pending) && performance.now() < drainUntil) await Bun.sleep(5);
  const durationS = (performance.now() - start) / 1000;
  for (const c of all) c.socket?.end();
  lags.sort((a, b) => a - b);
  return {
    sent,
    answered: latencies.length,
    durationS,
    rate: latencies.length / options.durationS,
    statuses,
    errors,
    connections: all.length,
    latencies,
    serverTimings,
    sendLagP99: lags[Math.floor(lags.length * 0.99)] ?? 0,
  };
}

/** Runs the generator in its own process (see the header) and returns its result. */
export async function runFixedRate(options: { url: string; header?: string; rate: number; durationS: number; warmupS?: number }): Promise<FixedRateResult> {
  const args = ["--url", options.url, "--rate", String(options.rate), "--duration", String(options.durationS), "--warmup", String(options.warmupS ?? 0)];
  if (options.header) args.push("--header", options.header);
  const proc = Bun.spawn([process.execPath, fileURLToPath(import.meta.url), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) throw new Error(`fixed-rate load failed (exit ${code}): ${err.slice(-1000)}`);
  return JSON.parse(line.slice("BENCH_JSON ".length)) as FixedRateResult;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const url = arg("url");
  if (!url || !arg("rate")) {
    console.error("usage: bun bench/fixed-rate.ts --url <url> --rate <per s> [--duration <s>] [--warmup <s>] [--header 'name: value']");
    process.exit(2);
  }
  const base = { url, header: arg("header"), rate: Number(arg("rate")) };
  const warmup = Number(arg("warmup") ?? 0);
  if (warmup > 0) await fixedRate({ ...base, durationS: warmup });
  const result = await fixedRate({ ...base, durationS: Number(arg("duration") ?? 10) });
  console.log(`BENCH_JSON ${JSON.stringify(result)}`);
  process.exit(0);
}
