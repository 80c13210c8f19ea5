// The chaos run's faults: each target SIGKILLed in turn, spread over the load, and restarted by the run a fixed
// time later on the same port; one at a time, so that each recovery is measured on its own.
import type { Kill } from "./summary.ts";

export type KillTarget = { name: string; kill(): Promise<void>; restart(): Promise<boolean> };

export type KillPlan = {
  targets: KillTarget[];
  loadStartMs: number;
  seconds: number;
  /** How long a target stays dead. */
  downMs: number;
  /** At least this long between one restart and the next kill. */
  gapMs: number;
  log: (msg: string) => void;
};

export async function runKills(plan: KillPlan): Promise<{ kills: Kill[]; skipped: string[] }> {
  const { targets, loadStartMs, seconds, downMs, gapMs, log } = plan;
  const loadEndMs = loadStartMs + seconds * 1000;
  const kills: Kill[] = [];
  const skipped: string[] = [];
  let earliest = loadStartMs;
  for (const [k, target] of targets.entries()) {
    // Spread from 10 % to 75 % of the run, later if the previous one took longer.
    const planned = loadStartMs + seconds * 1000 * (0.1 + (0.65 * k) / Math.max(1, targets.length - 1));
    const wait = Math.max(planned, earliest) - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    // A kill whose restart and recovery would fall after the load measures nothing.
    if (performance.now() + downMs + 2000 > loadEndMs) {
      skipped.push(target.name);
      continue;
    }
    const killMs = performance.now();
    await target.kill();
    log(`killed ${target.name} (SIGKILL); restarting it in ${downMs / 1000} s`);
    await Bun.sleep(downMs);
    const respawnMs = performance.now();
    const up = await target.restart();
    const readyMs = up ? performance.now() : null;
    log(up ? `${target.name} is back after ${((readyMs! - killMs) / 1000).toFixed(2)} s` : `${target.name} did not come back`);
    kills.push({ target: target.name, killMs, respawnMs, readyMs });
    earliest = performance.now() + gapMs;
  }
  if (skipped.length) log(`not killed, the run is too short: ${skipped.join(", ")}`);
  return { kills, skipped };
}
