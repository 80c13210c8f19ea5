// Waits, from a producer's side, until every job of a batch has ended (completed, or failed as a dead letter),
// the way a test checks that a worker lost and stuck nothing: a job that disappears is lost at once, one
// still active or waiting when the bound passes is stuck, and either is reported with every job's state.
import type { Job, Queue } from "bullmq";

export type Settled = { completed: Job[]; failed: Job[] };

export async function settleJobs(queue: Queue, ids: string[], timeoutMs: number, intervalMs = 25): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
    const missing = ids.filter((_, i) => states[i] === "unknown");
    if (missing.length) throw new Error(`jobs lost (no longer in the queue): ${missing.join(", ")}`);
    if (states.every((s) => s === "completed" || s === "failed")) {
      const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
      const lost = ids.filter((_, i) => !jobs[i]);
      if (lost.length) throw new Error(`jobs lost (removed while being read): ${lost.join(", ")}`);
      return {
        completed: jobs.filter((_, i) => states[i] === "completed") as Job[],
        failed: jobs.filter((_, i) => states[i] === "failed") as Job[],
      };
    }
    if (Date.now() > deadline) {
      const open = ids.map((id, i) => `${id}: ${states[i]}`).filter((line) => !/: (completed|failed)$/.test(line));
      throw new Error(`jobs stuck after ${timeoutMs} ms:\n${open.join("\n")}`);
    }
    await Bun.sleep(intervalMs);
  }
}
