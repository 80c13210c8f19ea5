// A logger for tests that keeps its lines, parsed, instead of writing them to stdout.
import { createLogger, type Logger, type LogLevel } from "../observability/logger.ts";

export type LogLine = { level: string; msg: string; [field: string]: unknown };

export function captureLogs(service = "test", level: LogLevel = "debug"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger(service, level, (line) => lines.push(JSON.parse(line) as LogLine)), lines };
}
