import { describe, expect, test } from "bun:test";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import { createOutageLog } from "./redis-outage.ts";

describe("Redis outage log", () => {
  test("one line per outage, one when it ends; other errors are logged as they come", () => {
    const { logger, lines: logged } = captureLogs();
    const outage = createOutageLog(logger);
    const fromWorker = outage.onError("worker");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
    for (let i = 0; i < 5; i++) fromWorker(refused);
    outage.onError("queue")(new Error("Connection is closed."));
    expect(outage.down).toBe(true);
    fromWorker(new Error("ERR unknown command"));
    outage.onReady();
    outage.onReady();
    fromWorker(refused);
    expect(logged.map((l) => `${l.level} ${l.msg}`)).toEqual([
      "warn Redis is unreachable: events wait in the services' outboxes and jobs in Redis until it is back",
      "error worker error",
      "info Redis is reachable again: taking jobs",
      "warn Redis is unreachable: events wait in the services' outboxes and jobs in Redis until it is back",
    ]);
  });
});
