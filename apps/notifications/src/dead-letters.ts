// Dead letters of the notifications queue: the jobs that failed for good (UnrecoverableError, or every attempt
// used up), kept by removeOnFail: false. List them, or retry one or all with fresh attempts.
//
// Usage (the script finds its imports from its own location, so any working directory will do):
//   bun "$(git rev-parse --show-toplevel)/apps/notifications/src/dead-letters.ts" list
//   bun "$(git rev-parse --show-toplevel)/apps/notifications/src/dead-letters.ts" retry <jobId>
//   bun "$(git rev-parse --show-toplevel)/apps/notifications/src/dead-letters.ts" retry --all
// or, from the repository root: bun apps/notifications/src/dead-letters.ts list | retry <jobId> | retry --all
// Environment: REDIS_URL (default redis://127.0.0.1:6379), QUEUE_PREFIX (default storefront).
// Exit status: 0 done, 1 a job to retry was not found or could not be retried, 2 usage error.
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, NOTIFICATIONS_QUEUE } from "@storefront/shared/notifications/events";

export type DeadLetter = { id: string; name: string; attempts_made: number; failed_reason: string; failed_at: string | null };

const PAGE = 500;

const describe = (job: Job): DeadLetter => ({
  id: job.id ?? "",
  name: job.name,
  attempts_made: job.attemptsMade,
  failed_reason: job.failedReason,
  failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
});

/** Every failed job, newest failure first. */
export async function listDeadLetters(queue: Queue): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (let start = 0; ; start += PAGE) {
    const jobs = await queue.getFailed(start, start + PAGE - 1);
    out.push(...jobs.filter(Boolean).map(describe));
    if (jobs.length < PAGE) return out;
  }
}

export type RetryResult = { id: string; retried: boolean; reason?: string };

/** Moves one failed job back to waiting, with its attempt counters reset so it gets all its attempts again. */
export async function retryDeadLetter(queue: Queue, id: string): Promise<RetryResult> {
  const job = await queue.getJob(id);
  if (!job) return { id, retried: false, reason: "no such job" };
  if (!(await job.isFailed())) return { id, retried: false, reason: `job is ${await job.getState()}, not failed` };
  try {
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return { id, retried: true };
  } catch (err) {
    return { id, retried: false, reason: (err as Error).message };
  }
}

export async function retryAllDeadLetters(queue: Queue): Promise<RetryResult[]> {
  // Ids first: retrying moves jobs out of the failed set, which would shift the pages under a paging loop.
  const ids = (await listDeadLetters(queue)).map((d) => d.id);
  const results: RetryResult[] = [];
  for (const id of ids) results.push(await retryDeadLetter(queue, id));
  return results;
}

async function main(args: string[]): Promise<number> {
  const [command, target] = args;
  const usage = "usage: bun apps/notifications/src/dead-letters.ts list | retry <jobId> | retry --all";
  if (!(command === "list" && !target) && !(command === "retry" && target)) {
    console.error(usage);
    return 2;
  }
  const env = process.env;
  const connection = new Redis(env.REDIS_URL || DEFAULT_REDIS_URL, { maxRetriesPerRequest: 1 });
  const queue = new Queue(NOTIFICATIONS_QUEUE, { connection, prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX });
  try {
    if (command === "list") {
      const letters = await listDeadLetters(queue);
      for (const d of letters) console.log(`${d.id}\t${d.name}\tattempts=${d.attempts_made}\t${d.failed_at ?? "-"}\t${d.failed_reason}`);
      console.log(`${letters.length} dead letter${letters.length === 1 ? "" : "s"}`);
      return 0;
    }
    const results = target === "--all" ? await retryAllDeadLetters(queue) : [await retryDeadLetter(queue, target!)];
    for (const r of results) console.log(r.retried ? `retried ${r.id}` : `not retried ${r.id}: ${r.reason}`);
    if (target === "--all") console.log(`${results.filter((r) => r.retried).length} of ${results.length} retried`);
    return results.every((r) => r.retried) ? 0 : 1;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
