// Runs wrk (the load generator) with bench/wrk-report.lua and returns what its done() hook printed as JSON:
// throughput, latency percentiles, wrk's error counts and answers per status.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type WrkResult = {
  /** Completed answers per second over the run. */
  rps: number;
  requests: number;
  durationS: number;
  /** Latency in ms. */
  latency: { min: number; mean: number; p50: number; p75: number; p90: number; p99: number; p999: number; max: number };
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  statuses: Record<string, number>;
  /** Answers whose body contained `bodyMark`. */
  marked: number;
  /** CPU time wrk itself used (user + system), ms. */
  cpuMs: number;
};

export type WrkRun = {
  url: string;
  connections: number;
  durationS: number;
  /** One header, "name: value". */
  header?: string;
  /** Count the answers whose body contains this string. */
  bodyMark?: string;
  threads?: number;
  timeoutS?: number;
  /**
   * Each connection waits a random 0..2x this many ms before each request (mean: this), which caps the rate
   * below saturation and keeps connections from moving in lockstep. Latency is still measured from the send.
   */
  paceMs?: number;
  /**
   * Each request carries `authorization: Bearer <one of these>`, picked at random (instead of `header`): the
   * tokens of many users, minted beforehand and written into the script as a Lua table.
   */
  userTokens?: string[];
  /** Each request asks for one of these paths (with query) at random, on `url`'s host. */
  paths?: string[];
};

const SCRIPT = fileURLToPath(new URL("./wrk-report.lua", import.meta.url));

// wrk decides once, from the script, whether delay() or request() exist: such runs get their own copy of it.
async function scriptFor(run: WrkRun): Promise<string> {
  const tokens = run.userTokens?.length ? run.userTokens : undefined;
  if (!run.paceMs && !tokens && !run.paths) return SCRIPT;
  let extra = "";
  if (run.paceMs) extra += `\nfunction delay()\n  return math.random(0, ${2 * run.paceMs})\nend\n`;
  if (tokens || run.paths) {
    const paths = run.paths ? `local paths = { ${run.paths.map((p) => JSON.stringify(p)).join(", ")} }\n` : "";
    // A JWT is base64url and dots: nothing in it needs escaping in a Lua string; the whole header value is
    // built here so request() only indexes the table.
    const headers = tokens ? `local authorizations = {\n${tokens.map((t) => `  "Bearer ${t}",`).join("\n")}\n}\n` : "";
    extra +=
      `\n${paths}${headers}function request()\n` +
      (tokens ? "  wrk.headers[\"authorization\"] = authorizations[math.random(1, #authorizations)]\n" : "") +
      (run.paths ? "  return wrk.format(nil, paths[math.random(1, #paths)])\n" : "  return wrk.format()\n") +
      "end\n";
  }
  // Its own name per run (removed after it): two runs never share one, and the tokens it may hold do not stay.
  const file = join(tmpdir(), `storefront-bench-wrk-${randomUUID()}.lua`);
  await Bun.write(file, (await Bun.file(SCRIPT).text()) + extra);
  return file;
}

/** wrk's path, or null when it is not installed. */
export const wrkPath = (): string | null => Bun.which("wrk");

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const wrk = wrkPath();
  if (!wrk) throw new Error("wrk is not installed (apt-get install -y wrk)");
  // One thread: on a 2-core machine every core wrk takes is one the stack under test does not get.
  const threads = Math.min(run.threads ?? 1, run.connections);
  const script = await scriptFor(run);
  try {
    return await wrkWith(wrk, threads, script, run);
  } finally {
    if (script !== SCRIPT) rmSync(script, { force: true });
  }
}

async function wrkWith(wrk: string, threads: number, script: string, run: WrkRun): Promise<WrkResult> {
  const args = [
    wrk,
    `-t${threads}`,
    `-c${run.connections}`,
    `-d${run.durationS}s`,
    `--timeout`,
    `${run.timeoutS ?? 5}s`,
    "-s",
    script,
    run.url,
    "--",
    run.header ?? "-",
    run.bodyMark ?? "-",
  ];
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}) for ${run.url}:\n${out}\n${err}`);
  const raw = JSON.parse(line.slice("BENCH_JSON ".length)) as {
    duration_us: number;
    requests: number;
    errors: WrkResult["errors"];
    latency_us: Record<keyof WrkResult["latency"], number>;
    statuses: Record<string, number>;
    marked: number;
  };
  const ms = (us: number) => us / 1000;
  const l = raw.latency_us;
  return {
    rps: raw.requests / (raw.duration_us / 1e6),
    requests: raw.requests,
    durationS: raw.duration_us / 1e6,
    latency: { min: ms(l.min), mean: ms(l.mean), p50: ms(l.p50), p75: ms(l.p75), p90: ms(l.p90), p99: ms(l.p99), p999: ms(l.p999), max: ms(l.max) },
    errors: raw.errors,
    statuses: raw.statuses,
    marked: raw.marked,
    cpuMs: Number(proc.resourceUsage()?.cpuTime.total ?? 0n) / 1000,
  };
}

/** Socket-level errors wrk saw (not counting non-2xx answers, which are in `statuses`). */
export const socketErrors = (r: WrkResult) => r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
