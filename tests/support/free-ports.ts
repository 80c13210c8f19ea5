// Free TCP ports for tests that start real servers: the OS picks them, so parallel runs never collide.
/** `count` distinct ports that were free a moment ago (all held open together, so no duplicates). */
export function freePorts(count: number): number[] {
  const listeners = Array.from({ length: count }, () => Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } }));
  const ports = listeners.map((l) => l.port);
  for (const l of listeners) l.stop(true);
  return ports;
}

export const freePort = (): number => freePorts(1)[0]!;
