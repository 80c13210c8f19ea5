// A fault-injecting proxy in front of one HTTP upstream, for tests and the benchmark (Toxiproxy is not
// installable here): forwards, delays, swallows, stalls, resets or refuses connections, or answers HTTP
// requests itself with an error status or a malformed body; counts connections and requests. Also a CLI:
//   bun shared/src/testing/fault-proxy.ts --listen 7000 --upstream 127.0.0.1:8000 --mode slow:50
import net from "node:net";
import { STATUS_CODES } from "node:http";
import { createHttpRequestParser, type RequestHead } from "./http-request-parser.ts";

export type FaultMode =
  | { kind: "pass" }
  /** Every chunk from the client waits `ms` before it goes upstream, so each request takes `ms` longer. */
  | { kind: "slow"; ms: number }
  /** Accept, read and drop, never answer. */
  | { kind: "blackhole" }
  /** Answer a 200 head promising a JSON body, then never send the body; the connection stays open. */
  | { kind: "stall" }
  /** Accept, then close with a TCP RST. */
  | { kind: "reset" }
  /** The port is closed: the kernel refuses connections (the number is kept for the next mode). */
  | { kind: "refused" }
  /** The proxy answers every request with this status and an INJECTED_FAILURE error envelope. */
  | { kind: "status"; status: number; retryAfter?: string }
  /** 200, content-type application/json, a body that is not JSON. */
  | { kind: "not_json" }
  /** 200, valid JSON of a shape no caller expects. */
  | { kind: "wrong_shape" };

/** One of each fault, as the fault matrices use them: what "every fault" means in a test. */
export const EVERY_FAULT: readonly FaultMode[] = [
  { kind: "pass" },
  { kind: "slow", ms: 50 },
  { kind: "blackhole" },
  { kind: "stall" },
  { kind: "reset" },
  { kind: "refused" },
  { kind: "status", status: 500 },
  { kind: "not_json" },
  { kind: "wrong_shape" },
];

export type FaultProxy = {
  readonly port: number;
  /** "http://127.0.0.1:<port>" */
  readonly url: string;
  readonly mode: FaultMode;
  /** TCP connections accepted since start or the last resetCounts(). */
  readonly accepted: number;
  /** HTTP requests received from clients (complete request heads seen), in every mode, since start or resetCounts(). */
  readonly requests: number;
  resetCounts(): void;
  /** Switches mode while running; open connections are destroyed so keep-alive sockets do not carry the old behaviour. */
  setMode(mode: FaultMode): Promise<void>;
  close(): Promise<void>;
};

const STALL_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 300\r\n\r\n";

export async function createFaultProxy(options: { upstreamPort: number; upstreamHost?: string; port?: number; mode?: FaultMode }): Promise<FaultProxy> {
  const upstreamHost = options.upstreamHost ?? "127.0.0.1";
  let mode: FaultMode = options.mode ?? { kind: "pass" };
  let accepted = 0;
  let requests = 0;
  let port = options.port ?? 0;
  let server: net.Server | null = null;
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    open.add(socket);
    socket.on("error", () => {}); // a peer's reset is part of the game, never an unhandled error
    socket.on("close", () => open.delete(socket));
  };

  const onConnection = (client: net.Socket) => {
    accepted++;
    track(client);
    const current = mode;
    if (current.kind === "reset") return void client.resetAndDestroy();
    if (current.kind === "refused") return void client.destroy(); // raced the listener's close
    const answer = responder(current);
    let stalled = false;
    const parser = createHttpRequestParser({
      onHead: () => void requests++,
      onRequest: (head) => {
        if (client.destroyed || client.writableEnded) return;
        if (answer) {
          client.write(answer(head));
          if (!head.keepAlive) client.end();
        } else if (current.kind === "stall" && !stalled) {
          stalled = true;
          client.write(STALL_HEAD);
        }
      },
      // Forwarding modes only count requests, so bytes that are not HTTP just stop the count; a proxy that
      // answers cannot find the next request and gives up on the connection.
      onError: () => void (answer && client.destroy()),
    });
    client.on("data", (chunk: Buffer) => parser.push(chunk));
    if (current.kind === "pass" || current.kind === "slow") forward(client, current.kind === "slow" ? current.ms : 0);
  };

  const forward = (client: net.Socket, delayMs: number) => {
    const upstream = net.connect({ port: options.upstreamPort, host: upstreamHost, noDelay: true });
    track(upstream);
    const timers = new Set<ReturnType<typeof setTimeout>>();
    client.on("close", () => {
      for (const timer of timers) clearTimeout(timer);
      upstream.destroy();
    });
    // end(), not destroy(), on a clean close: the upstream's last bytes may still sit in the client's buffer.
    upstream.on("close", (hadError) => (hadError ? client.destroy() : client.writableEnded || client.end()));
    upstream.pipe(client);
    if (delayMs === 0) return void client.pipe(upstream);
    // Same delay for every chunk, so the timers fire in arrival order and the byte stream stays in order.
    client.on("data", (chunk: Buffer) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!upstream.destroyed) upstream.write(chunk);
      }, delayMs);
      timers.add(timer);
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer({ noDelay: true }, onConnection);
      s.on("error", reject); // after listening, a no-op: an accept error must not go unhandled
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  /**
   * A port below the kernel's ephemeral range (32768-60999 here): in "refused" mode nothing listens on it,
   * and a connect to a free port inside that range can, rarely, be given that same port as its source and
   * connect to itself (TCP self-connect), answering the client with its own request instead of a refusal.
   */
  const listenBelowEphemeralRange = async () => {
    for (let attempt = 0; ; attempt++) {
      port = 20_000 + Math.floor(Math.random() * 12_000);
      try {
        return await listen();
      } catch (err) {
        if ((err as { code?: string }).code !== "EADDRINUSE" || attempt >= 50) throw err;
      }
    }
  };

  const dropOpen = () => {
    for (const socket of open) socket.destroy();
  };

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
      dropOpen();
    });

  // Listen even when refusing from the start: that picks the port number later modes listen on.
  if (options.port === undefined) await listenBelowEphemeralRange();
  else await listen();
  if (mode.kind === "refused") await stopListening();

  // One switch at a time: a listen racing a close on the same port would fail.
  let switching = Promise.resolve();
  const apply = async (next: FaultMode) => {
    mode = next;
    dropOpen();
    if (next.kind === "refused") await stopListening();
    else if (!server) await listen();
  };

  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    get requests() {
      return requests;
    },
    resetCounts() {
      accepted = 0;
      requests = 0;
    },
    setMode(next) {
      const run = switching.then(() => apply(next));
      switching = run.catch(() => {});
      return run;
    },
    async close() {
      await switching;
      await stopListening();
      dropOpen();
    },
  };
}

/** For the modes in which the proxy answers requests itself: the bytes of the answer to one request. */
function responder(mode: FaultMode): ((head: RequestHead) => string) | null {
  if (mode.kind === "status") {
    const body = JSON.stringify({ error: { code: "INJECTED_FAILURE", message: `fault proxy: injected ${mode.status}` } });
    return respond(mode.status, body, mode.retryAfter === undefined ? {} : { "retry-after": mode.retryAfter });
  }
  if (mode.kind === "not_json") return respond(200, "<html>oops</html>", {});
  if (mode.kind === "wrong_shape") return respond(200, JSON.stringify({ unexpected: "shape" }), {});
  return null;
}

function respond(status: number, body: string, extra: Record<string, string>) {
  const payload = status === 204 || status === 304 ? "" : body; // these statuses never carry a body
  return (head: RequestHead) => {
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)), ...extra };
    if (!head.keepAlive) headers.connection = "close";
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n${lines.join("")}\r\n${head.method === "HEAD" ? "" : payload}`;
  };
}

const FORMS = "pass, slow:<ms>, blackhole, stall, reset, refused, status:<code>[:retry-after=<value>] (or <code>), not_json, wrong_shape";

/** "pass", "slow:50", "blackhole", "stall", "reset", "refused", "status:500" (also plain "500"), "not_json", "wrong_shape". Throws on anything else, listing the forms. */
export function parseFaultMode(text: string): FaultMode {
  const slow = /^slow:(\d+)$/.exec(text);
  if (slow) return { kind: "slow", ms: Number(slow[1]) };
  const status = /^(?:status:)?([2-5]\d\d)(?::retry-after=(.+))?$/.exec(text);
  if (status) return status[2] === undefined ? { kind: "status", status: Number(status[1]) } : { kind: "status", status: Number(status[1]), retryAfter: status[2] };
  for (const kind of ["pass", "blackhole", "stall", "reset", "refused", "not_json", "wrong_shape"] as const) {
    if (text === kind) return { kind };
  }
  throw new Error(`unknown fault mode "${text}"; the forms are: ${FORMS}`);
}

/** The inverse, for test names and logs: "slow:50", "status:500", ... */
export function describeFaultMode(mode: FaultMode): string {
  if (mode.kind === "slow") return `slow:${mode.ms}`;
  if (mode.kind === "status") return `status:${mode.status}${mode.retryAfter === undefined ? "" : `:retry-after=${mode.retryAfter}`}`;
  return mode.kind;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const [host, upstreamPort] = (arg("upstream") ?? "").split(":");
  if (!host || !upstreamPort) {
    console.error(`usage: bun shared/src/testing/fault-proxy.ts --listen <port> --upstream <host:port> [--mode <mode>]\n  modes: ${FORMS}`);
    process.exit(2);
  }
  const proxy = await createFaultProxy({
    upstreamHost: host,
    upstreamPort: Number(upstreamPort),
    port: Number(arg("listen") ?? 0),
    mode: parseFaultMode(arg("mode") ?? "pass"),
  });
  console.log(`fault proxy on 127.0.0.1:${proxy.port} -> ${host}:${upstreamPort}, mode ${describeFaultMode(proxy.mode)}`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
