// Which process listens on a TCP port, for tests that kill one app of a running stack from outside.
/** The pid listening on `port`, from lsof or else ss; undefined when nothing listens (or neither tool is there). */
export function pidListeningOn(port: number): number | undefined {
  const lsof = run(["lsof", "-nP", "-t", `-iTCP:${port}`, "-sTCP:LISTEN"]);
  if (lsof !== undefined) return firstNumber(lsof);
  // ss prints e.g. `LISTEN 0 512 0.0.0.0:8001 0.0.0.0:* users:(("bun",pid=1234,fd=15))`.
  const ss = run(["ss", "-Htlnp", `sport = :${port}`]);
  return ss === undefined ? undefined : firstNumber(ss.match(/pid=(\d+)/)?.[1] ?? "");
}

const firstNumber = (text: string) => {
  const pid = Number.parseInt(text.trim().split(/\s+/)[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
};

/** The command's stdout, or undefined when it is not installed. lsof exits 1 when it finds nothing: that is "". */
function run(cmd: string[]): string | undefined {
  try {
    return Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" }).stdout.toString();
  } catch {
    return undefined;
  }
}
