// Each call the worker makes carries its service token. A 401 means that token is no longer accepted (the
// users service rotated its keys, or the token ended early): it is dropped, so the job's retry fetches a new
// one, and the error still fails this attempt (worker.ts retries it; it is not the job's fault).
import type { ServiceCredentials } from "./service-credentials.ts";
import { UpstreamStatusError } from "../upstream/errors.ts";

export async function withServiceToken<T>(
  credentials: ServiceCredentials,
  signal: AbortSignal | undefined,
  call: (headers: { authorization: string }) => Promise<T>,
): Promise<T> {
  const headers = await credentials.headers(signal);
  try {
    return await call(headers);
  } catch (err) {
    if (err instanceof UpstreamStatusError && err.status === 401) credentials.invalidate(headers.authorization);
    throw err;
  }
}
