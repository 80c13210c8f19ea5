// The BFF's client for one upstream service: built once per process (Bun's fetch keeps connections alive),
// it turns a call into parsed JSON or a typed error the routes map to a gateway status.

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The upstream answered with a status the caller has to decide about (4xx/5xx). */
export class UpstreamStatusError extends Error {
  constructor(
    readonly upstream: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${upstream} answered ${status}`);
    this.name = "UpstreamStatusError";
  }
}

/** The upstream answered 2xx with a body we cannot use. */
export class UpstreamInvalidResponseError extends Error {
  constructor(readonly upstream: string, detail: string) {
    super(`${upstream} sent an invalid response: ${detail}`);
    this.name = "UpstreamInvalidResponseError";
  }
}

export type UpstreamReply = { status: number; body: unknown };

export type Upstream = {
  readonly name: string;
  /** GET and parse a 2xx JSON body; any other status throws UpstreamStatusError. */
  getJson(path: string, signal: AbortSignal): Promise<unknown>;
  /** Send a request and return status and parsed body (null for an empty body), whatever the status. */
  send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<UpstreamReply>;
};

const ACCEPT_JSON = { accept: "application/json" };
const SEND_JSON = { accept: "application/json", "content-type": "application/json" };

// Read lazily so a fetch patched after start-up (msw in tests) is still the one used.
const globalFetch: FetchFn = (input, init) => fetch(input, init);

export function createUpstream(name: string, baseUrl: string, fetchFn: FetchFn = globalFetch): Upstream {
  const base = baseUrl.replace(/\/$/, "");

  const readBody = async (res: Response): Promise<unknown> => {
    const text = await res.text();
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamInvalidResponseError(name, `status ${res.status} with a body that is not JSON`);
    }
  };

  return {
    name,
    async getJson(path, signal) {
      const res = await fetchFn(base + path, { headers: ACCEPT_JSON, signal });
      if (!res.ok) throw new UpstreamStatusError(name, res.status, await readBody(res).catch(() => null));
      return readBody(res);
    },
    async send(method, path, body, signal) {
      const res = await fetchFn(base + path, {
        method,
        headers: body === undefined ? ACCEPT_JSON : SEND_JSON,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      return { status: res.status, body: await readBody(res) };
    },
  };
}
