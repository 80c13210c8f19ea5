// Structured logs: one JSON object per line on stdout, with the service name, filtered by LOG_LEVEL.
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Logger = {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, "silent">): boolean;
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
};

export const isLogLevel = (v: string): v is LogLevel => v in RANK;

/** `write` defaults to stdout; tests pass their own to read the lines. */
export function createLogger(service: string, level: LogLevel = "info", write: (line: string) => void = (l) => console.log(l)): Logger {
  const min = RANK[level];
  const log = (lvl: Exclude<LogLevel, "silent">) => (msg: string, fields?: object) => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, service, msg, ...fields }));
  };
  return {
    level,
    enabled: (lvl) => RANK[lvl] >= min,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}

/** LOG_LEVEL from the environment; an unknown value is an error at start, not a silent default. */
export function logLevelFromEnv(env: Record<string, string | undefined>): LogLevel {
  const raw = (env.LOG_LEVEL || "info").toLowerCase();
  if (!isLogLevel(raw)) throw new Error(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${env.LOG_LEVEL}"`);
  return raw;
}
