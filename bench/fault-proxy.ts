// A TCP fault proxy for the benchmark (Toxiproxy is not installable here): sits in front of one upstream and
// forwards, delays, swallows, resets or refuses its connections, and counts the connections it accepted.
// Used in-process by the scenarios; also runnable alone:
//   bun bench/fault-proxy.ts --listen 7000 --upstream 127.0.0.1:8000 --mode latency:50
import net from "node:net";

export type FaultMode =
  | { kind: "pass" }
  /** Every chunk from the client waits `ms` before it goes upstream, so each request takes `ms` longer. */
  | { kind: "latency"; ms: number }
  /** Accept, read, never answer. */
  | { kind: "blackhole" }
  /** Accept, then close with a TCP RST. */
  | { kind: "reset" }
  /** The port is closed: connections are refused by the kernel (and cannot be counted). */
  | { kind: "refuse" };

export type FaultProxy = {
  readonly port: number;
  readonly mode: FaultMode;
  /** Connections accepted since start or the last resetCounts(). */
  readonly accepted: number;
  resetCounts(): void;
  /** Switches mode; open connections are closed so keep-alive sockets do not carry the old behaviour. */
  setMode(mode: FaultMode): Promise<void>;
  close(): Promise<void>;
};

export async function createFaultProxy(options: { upstreamPort: number; upstreamHost?: string; port?: number; mode?: FaultMode }): Promise<FaultProxy> {
  const upstreamHost = options.upstreamHost ?? "127.0.0.1";
  let mode: FaultMode = options.mode ?? { kind: "pass" };
  let accepted = 0;
  let port = options.port ?? 0;
  let server: net.Server | null = null;
  const open = new Set<net.Socket>();

  const onConnection = (client: net.Socket) => {
    accepted++;
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    const current = mode;
    if (current.kind === "reset") return void client.resetAndDestroy();
    if (current.kind === "blackhole" || current.kind === "refuse") return void client.resume(); // read and drop
    const upstream = net.connect(options.upstreamPort, upstreamHost);
    open.add(upstream);
    upstream.on("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.pipe(client);
    if (current.kind === "pass") {
      client.pipe(upstream);
    } else {
      // Same delay for every chunk, so timers fire in arrival order and the byte stream stays in order.
      client.on("data", (chunk) => setTimeout(() => upstream.destroyed || upstream.write(chunk), current.ms));
    }
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer({ noDelay: true }, onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
      for (const socket of open) socket.destroy();
    });

  const dropOpen = () => {
    for (const socket of open) socket.destroy();
  };

  if (mode.kind !== "refuse") await listen();
  else {
    // Reserve a port number so that a later mode can listen on it.
    await listen();
    await stopListening();
  }

  return {
    get port() {
      return port;
    },
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    resetCounts() {
      accepted = 0;
    },
    async setMode(next) {
      mode = next;
      dropOpen();
      if (next.kind === "refuse") await stopListening();
      else if (!server) await listen();
    },
    async close() {
      await stopListening();
      dropOpen();
    },
  };
}

/** "pass", "latency:50", "blackhole", "reset" or "refuse". */
export function parseFaultMode(text: string): FaultMode {
  const [kind, arg] = text.split(":");
  if (kind === "latency" && arg && /^\d+$/.test(arg)) return { kind, ms: Number(arg) };
  if (kind === "pass" || kind === "blackhole" || kind === "reset" || kind === "refuse") return { kind };
  throw new Error(`unknown fault mode "${text}" (pass, latency:<ms>, blackhole, reset, refuse)`);
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const [host, upstreamPort] = (arg("upstream") ?? "").split(":");
  if (!host || !upstreamPort) {
    console.error("usage: bun bench/fault-proxy.ts --listen <port> --upstream <host:port> [--mode pass|latency:<ms>|blackhole|reset|refuse]");
    process.exit(2);
  }
  const proxy = await createFaultProxy({
    upstreamHost: host,
    upstreamPort: Number(upstreamPort),
    port: Number(arg("listen") ?? 0),
    mode: parseFaultMode(arg("mode") ?? "pass"),
  });
  console.log(`fault proxy on 127.0.0.1:${proxy.port} -> ${host}:${upstreamPort}, mode ${arg("mode") ?? "pass"}`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
