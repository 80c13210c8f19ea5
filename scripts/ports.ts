// Whether a TCP port can be listened on, checked the way the apps use it: listening on all interfaces.
/** undefined when the port is free, else why it cannot be used ("already in use", "permission denied", ...). */
export function portProblem(port: number): string | undefined {
  try {
    const listener = Bun.listen({ hostname: "0.0.0.0", port, socket: { data() {} } });
    listener.stop(true);
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") return "already in use";
    if (code === "EACCES") return "permission denied";
    return (err as Error).message;
  }
}

export const portIsFree = (port: number) => portProblem(port) === undefined;
