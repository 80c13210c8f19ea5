// Tests for the request framing the fault proxy relies on: where each request ends, however the bytes arrive.
import { describe, expect, test } from "bun:test";
import { createHttpRequestParser, type RequestHead } from "./http-request-parser.ts";

function parse(...chunks: string[]) {
  const heads: RequestHead[] = [];
  const complete: RequestHead[] = [];
  const errors: string[] = [];
  const parser = createHttpRequestParser({
    onHead: (head) => heads.push(head),
    onRequest: (head) => complete.push(head),
    onError: (error) => errors.push(error.message),
  });
  for (const chunk of chunks) parser.push(Buffer.from(chunk, "latin1"));
  return { heads, complete, errors, failed: parser.failed };
}

const GET = "GET /a HTTP/1.1\r\nhost: x\r\n\r\n";

describe("http request parser", () => {
  test("a GET without a body is complete at the end of its head; names are lower-cased", () => {
    const { heads, complete } = parse("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\n");
    expect(heads).toEqual([{ method: "GET", target: "/a?b=1", headers: { host: "x", "x-two": "1, 2" }, keepAlive: true }]);
    expect(complete).toHaveLength(1);
  });

  test("a content-length body is read to its last byte before the request is complete, byte by byte too", () => {
    const request = "POST /p HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello";
    expect(parse(request.slice(0, -1)).complete).toHaveLength(0);
    expect(parse(request.slice(0, -1)).heads).toHaveLength(1);
    expect(parse(...request.split("")).complete).toHaveLength(1);
  });

  test("a chunked body is complete only after the 0-chunk and the empty line, trailers included", () => {
    const body = "4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nx-trailer: t\r\n\r\n";
    const request = `POST /c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n${body}`;
    expect(parse(request.slice(0, -2)).complete).toHaveLength(0);
    expect(parse(request).complete).toHaveLength(1);
    expect(parse(...request.split("")).complete).toHaveLength(1);
  });

  test("pipelined requests in one chunk are reported in order, a stray CRLF between them ignored", () => {
    const { complete } = parse(`${GET}\r\nPOST /b HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi${GET.replace("/a", "/c")}`);
    expect(complete.map((head) => head.target)).toEqual(["/a", "/b", "/c"]);
  });

  test("keep-alive: HTTP/1.1 unless connection: close, HTTP/1.0 only with connection: keep-alive", () => {
    const keepAlive = (text: string) => parse(text).heads[0]?.keepAlive;
    expect(keepAlive("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")).toBe(false);
    expect(keepAlive("GET / HTTP/1.1\r\nconnection: upgrade, close\r\n\r\n")).toBe(false);
    expect(keepAlive("GET / HTTP/1.0\r\n\r\n")).toBe(false);
    expect(keepAlive("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")).toBe(true);
  });

  test("bytes that are not HTTP fail once and everything after them is ignored", () => {
    const result = parse("\x16\x03\x01 not http\r\n\r\n", GET);
    expect(result.failed).toBe(true);
    expect(result.errors).toHaveLength(1);
    expect(result.heads).toHaveLength(0);
    expect(parse("POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n").failed).toBe(true);
    expect(parse("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").failed).toBe(true);
  });

  test("a head that never ends fails past 64 KiB instead of growing without bound", () => {
    expect(parse(`GET / HTTP/1.1\r\nx: ${"a".repeat(70_000)}`).failed).toBe(true);
  });
});
