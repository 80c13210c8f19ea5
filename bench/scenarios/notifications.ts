// Scenario 7: notifications jobs/s. The measurement itself is the notifications work's own bench/notifications.ts
// (runNotificationsBench: worker throughput, stock change -> inbox latency); this turns its result into a section.
// Until that file exists (or when it cannot load, e.g. no ioredis installed), the section is a placeholder.
import type { Section, TargetRow } from "../report.ts";

const NAME = "7. notifications";
const TITLE = "7. notifications jobs/s";

type NotificationsModule = {
  runNotificationsBench(options: { adminUrl?: string; log?: (msg: string) => void }): Promise<{
    throughput: { what: string; jobsPerSecond: number; failed: number }[];
    latency: { p99Ms: number; delivered: number; events: number };
    markdown: string;
  }>;
  TARGET_JOBS_PER_SECOND?: number;
  TARGET_P99_MS?: number;
};

export function notificationsPlaceholder(why = "the notifications issue has not landed"): Section {
  return {
    title: TITLE,
    targets: [{ scenario: NAME, metric: "jobs/s", target: "to be set", measured: `pending: ${why}`, met: null }],
    body: [`Placeholder: this section will be filled when the notifications issue lands (${why}).`],
  };
}

export async function notifications(adminUrl: string, log: (msg: string) => void): Promise<Section> {
  let bench: NotificationsModule;
  try {
    bench = (await import(new URL("../notifications.ts", import.meta.url).href)) as NotificationsModule;
  } catch (err) {
    return notificationsPlaceholder(`bench/notifications.ts did not load: ${(err as Error).message.split("\n")[0]}`);
  }
  const result = await bench.runNotificationsBench({ adminUrl, log: (msg) => log(`notifications: ${msg}`) });
  const jobsTarget = bench.TARGET_JOBS_PER_SECOND ?? 2000;
  const p99Target = bench.TARGET_P99_MS ?? 100;
  const first = result.throughput[0];
  const targets: TargetRow[] = [
    {
      scenario: NAME,
      metric: first ? `jobs/s, ${first.what}` : "jobs/s",
      target: `>= ${jobsTarget.toLocaleString("en-US")}`,
      measured: first ? `${Math.round(first.jobsPerSecond).toLocaleString("en-US")}${first.failed ? ` (${first.failed} failed)` : ""}` : "n/a",
      met: first ? first.jobsPerSecond >= jobsTarget && first.failed === 0 : null,
    },
    {
      scenario: NAME,
      metric: "stock change -> inbox, p99",
      target: `< ${p99Target} ms`,
      measured: `${result.latency.p99Ms.toFixed(1)} ms (${result.latency.delivered} of ${result.latency.events} delivered)`,
      met: result.latency.p99Ms < p99Target && result.latency.delivered === result.latency.events,
    },
  ];
  return {
    title: TITLE,
    targets,
    body: ["Measured by bench/notifications.ts (runNotificationsBench), after our stack and the peer were stopped; its own table:", "", result.markdown],
  };
}
