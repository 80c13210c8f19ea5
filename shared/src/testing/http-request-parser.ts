// Finds where each HTTP/1.1 request on a connection ends, for the fault proxy: it must read a request whole
// before answering it (closing with unread bytes makes the kernel send RST) and count requests without
// touching the bytes it forwards. Bodies are skipped, never kept; a head is kept only until it is complete.

export type RequestHead = {
  method: string;
  target: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** False when the client asked to close after this request (HTTP/1.1 `connection: close`, or HTTP/1.0). */
  keepAlive: boolean;
};

export type HttpRequestParser = {
  /** Feeds the next bytes of the stream; calls the handlers synchronously, in order. */
  push(chunk: Uint8Array): void;
  /** True once the bytes stopped looking like HTTP/1.x; everything pushed afterwards is ignored. */
  readonly failed: boolean;
};

export type RequestHandlers = {
  /** A request line and its headers have arrived (the body may still be on its way). */
  onHead?(head: RequestHead): void;
  /** The whole request, body included, has been read. */
  onRequest?(head: RequestHead): void;
  onError?(error: Error): void;
};

const MAX_HEAD_BYTES = 64 * 1024;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d)\.(\d)$/;

type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "failed";

export function createHttpRequestParser(handlers: RequestHandlers): HttpRequestParser {
  let state: State = "head";
  let pending = Buffer.alloc(0); // an incomplete head or line, waiting for its CRLF
  let remaining = 0; // body or chunk bytes still to skip
  let current: RequestHead | null = null;

  const fail = (message: string) => {
    state = "failed";
    pending = Buffer.alloc(0);
    handlers.onError?.(new Error(message));
  };
  const finish = () => {
    state = "head";
    handlers.onRequest?.(current!);
  };
  const startBody = (head: RequestHead, body: BodyFraming) => {
    current = head;
    handlers.onHead?.(head);
    if (body === "chunked") return void (state = "chunk-size");
    remaining = body;
    if (remaining === 0) finish();
    else state = "length";
  };

  const push = (chunk: Uint8Array) => {
    if (state === "failed") return;
    const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    pending = Buffer.alloc(0);
    let at = 0;
    while (at < data.length) {
      if (state === "length" || state === "chunk-data") {
        const take = Math.min(remaining, data.length - at);
        at += take;
        remaining -= take;
        if (remaining > 0) continue;
        if (state === "length") finish();
        else state = "chunk-end";
        continue;
      }
      if (state === "head" && data[at] === 0x0d && data[at + 1] === 0x0a) {
        at += 2; // a stray CRLF between requests is allowed (RFC 9112, section 2.2)
        continue;
      }
      const end = data.indexOf(state === "head" ? "\r\n\r\n" : "\r\n", at);
      if (end < 0) {
        if (data.length - at > MAX_HEAD_BYTES) return fail("request head or chunk line too long");
        pending = Buffer.from(data.subarray(at)); // a copy: do not pin the whole chunk
        return;
      }
      const text = data.toString("latin1", at, end);
      at = end + (state === "head" ? 4 : 2);
      if (state === "head") {
        const parsed = parseHead(text);
        if (typeof parsed === "string") return fail(parsed);
        startBody(parsed.head, parsed.body);
      } else if (state === "chunk-size") {
        const size = text.split(";")[0]!.trim();
        if (!/^[0-9a-fA-F]+$/.test(size)) return fail(`bad chunk size "${size}"`);
        remaining = parseInt(size, 16);
        state = remaining === 0 ? "trailers" : "chunk-data";
      } else if (state === "chunk-end") {
        if (text !== "") return fail("chunk not followed by CRLF");
        state = "chunk-size";
      } else if (text === "") {
        finish(); // the empty line after the last chunk's trailers
      }
    }
  };

  return {
    push,
    get failed() {
      return state === "failed";
    },
  };
}

/** Where the body ends: after this many bytes, or at the last chunk. */
type BodyFraming = number | "chunked";

/** The head and how its body is framed, or why the text is not a request head. */
function parseHead(text: string): { head: RequestHead; body: BodyFraming } | string {
  const [requestLine = "", ...lines] = text.split("\r\n");
  const match = REQUEST_LINE.exec(requestLine);
  if (!match) return `not an HTTP/1.x request line: "${requestLine.slice(0, 80)}"`;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return `bad header line "${line.slice(0, 80)}"`;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const connection = (headers["connection"] ?? "").toLowerCase().split(",").map((token) => token.trim());
  const http10 = match[3] === "1" && match[4] === "0";
  const keepAlive = http10 ? connection.includes("keep-alive") : !connection.includes("close");
  const head = { method: match[1]!, target: match[2]!, headers, keepAlive };
  if (/(^|,)\s*chunked\s*$/i.test(headers["transfer-encoding"] ?? "")) return { head, body: "chunked" };
  const length = headers["content-length"];
  if (length !== undefined && !/^\d+$/.test(length)) return `bad content-length "${length}"`;
  return { head, body: length === undefined ? 0 : Number(length) };
}
