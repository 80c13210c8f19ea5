// What every app carries for observability: its logger and its metrics registry, with the HTTP metrics
// every app exposes. Tests get a silent logger and a fresh registry by default.
import { createLogger, type Logger } from "./logger.ts";
import { Registry, type Counter, type Histogram } from "./metrics.ts";

export type Observability = {
  service: string;
  logger: Logger;
  registry: Registry;
  http: { requests: Counter; duration: Histogram };
};

export function createObservability(service: string, options: { logger?: Logger; registry?: Registry } = {}): Observability {
  const logger = options.logger ?? createLogger(service, "silent");
  const registry = options.registry ?? new Registry();
  const http = {
    requests: registry.counter("http_requests_total", "HTTP requests answered, by method, route and status.", ["method", "route", "status"]),
    duration: registry.histogram("http_request_duration_seconds", "HTTP request latency in seconds, by method, route and status.", [
      "method",
      "route",
      "status",
    ]),
  };
  registry.gauge("process_resident_memory_bytes", "Resident set size of the process in bytes.", [], () => [[[], process.memoryUsage.rss()]]);
  return { service, logger, registry, http };
}
