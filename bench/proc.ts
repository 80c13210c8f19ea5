// What /proc says about a process and the machine: resident memory (VmRSS), CPU time used, the machine's busy
// share and load average. Read once, or sampled during a load run.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";

// USER_HZ: the unit of /proc/<pid>/stat's CPU times; 100 on every Linux build that matters here.
const TICKS_PER_S = 100;

/** VmRSS in MB, or NaN when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU time of a process so far, in ms (NaN when it is gone). */
export function cpuMs(pid: number): number {
  try {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of all cores together, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export type CpuWatch = {
  /**
   * CPU ms each pid used since the watch started (NaN for one that ended), the machine's busy share (0..1) and
   * the busy CPU ms of all cores together over the same time.
   */
  stop(): { perPid: Map<number, number>; machineBusy: number; machineBusyMs: number };
};

export function watchCpu(pids: number[]): CpuWatch {
  const start = new Map(pids.map((pid) => [pid, cpuMs(pid)]));
  const machine = machineTicks();
  return {
    stop() {
      const now = machineTicks();
      return {
        perPid: new Map(pids.map((pid) => [pid, cpuMs(pid) - start.get(pid)!])),
        machineBusy: (now.busy - machine.busy) / Math.max(1, now.total - machine.total),
        machineBusyMs: ((now.busy - machine.busy) * 1000) / TICKS_PER_S,
      };
    },
  };
}

/** Pids of the processes whose command name is `name` (e.g. every Postgres backend). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === name) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** TCP connections this machine has opened (connect) so far: ActiveOpens in /proc/net/snmp. */
export function tcpActiveOpens(): number {
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("ActiveOpens")]);
}

/** The machine's busy share (0..1) over the next `ms`. */
export async function machineBusyOver(ms: number): Promise<number> {
  const watch = watchCpu([]);
  await Bun.sleep(ms);
  return watch.stop().machineBusy;
}

/** 1-minute load average. */
export const loadAverage = () => loadavg()[0]!;

/** Samples every pid every `intervalMs`; stop() returns the highest RSS seen per pid (MB). */
export function sampleRss(pids: number[], intervalMs = 200): { stop(): Map<number, number> } {
  const peak = new Map<number, number>(pids.map((pid) => [pid, rssMb(pid)]));
  const take = () => {
    for (const pid of pids) {
      const mb = rssMb(pid);
      const seen = peak.get(pid);
      if (Number.isFinite(mb) && !(seen !== undefined && seen >= mb)) peak.set(pid, mb);
    }
  };
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** Every process's parent pid (field 4 of /proc/<pid>/stat); processes that end while being read are left out. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  return parents;
}

/** `root` and all its descendants (children, their children, ...), root first; empty when root is gone. */
export function processTreePids(root: number): number[] {
  const parents = parentPids();
  if (!parents.has(root)) return [];
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parents) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** Proportional set size in MB (shared pages split among the processes sharing them), or NaN when gone. */
export function pssMb(pid: number): number {
  try {
    const kb = Number(/^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/** A process's command line, with the Bun executable's path shortened to "bun" ("bun apps/users/src/index.ts"). */
export function commandOf(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return args.map((arg, i) => (i === 0 && (arg === process.execPath || /(^|\/)bun$/.test(arg)) ? "bun" : arg)).join(" ");
  } catch {
    return "(gone)";
  }
}

export type TreeMember = { pid: number; command: string; rssMb: number; pssMb: number };
export type TreeMemory = { rssMb: number; pssMb: number; members: TreeMember[] };

/** VmRSS (and PSS) of `root` and every descendant now: what `ps` would add up for the whole process tree. */
export function treeMemory(root: number): TreeMemory {
  const members = processTreePids(root)
    .map((pid) => ({ pid, command: commandOf(pid), rssMb: rssMb(pid), pssMb: pssMb(pid) }))
    .filter((m) => Number.isFinite(m.rssMb));
  const sum = (pick: (m: TreeMember) => number) => (members.length ? members.reduce((a, m) => a + pick(m), 0) : Number.NaN);
  return { rssMb: sum((m) => m.rssMb), pssMb: sum((m) => m.pssMb), members };
}

export type TreePeak = { rssMb: number; members: Omit<TreeMember, "pssMb">[]; samples: number };

/**
 * Samples the summed VmRSS of the tree under `root` every `intervalMs`; stop() returns the highest sample, with
 * its members. RSS only: PSS walks every mapping of every process, too slow to repeat every 100 ms.
 */
export function sampleTreeRss(root: number, intervalMs = 100): { stop(): TreePeak } {
  let peak: TreePeak = { rssMb: Number.NaN, members: [], samples: 0 };
  let samples = 0;
  const take = () => {
    const members = processTreePids(root)
      .map((pid) => ({ pid, rssMb: rssMb(pid) }))
      .filter((m) => Number.isFinite(m.rssMb));
    if (!members.length) return;
    samples += 1;
    const total = members.reduce((a, m) => a + m.rssMb, 0);
    // Named now: a process seen at the peak may be gone when stop() is called.
    if (!(peak.rssMb >= total)) peak = { rssMb: total, members: members.map((m) => ({ ...m, command: commandOf(m.pid) })), samples };
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { ...peak, samples };
    },
  };
}
