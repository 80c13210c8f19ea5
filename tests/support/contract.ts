// The BFF's answers in the end-to-end tests, held to its OpenAPI document: every answer to a public route must
// be a documented status with a body of the documented shape (apps/bff/src/openapi.ts). Operational routes
// (/health, /ready, /metrics, /health/upstreams, the docs) are not part of the public API and are not checked.
import { responseProblem } from "../../apps/bff/src/openapi.ts";

const OPERATIONAL = /^\/(health|ready|metrics|docs|openapi\.json)(\/|$|\?)/;

/** fetch() of the BFF that fails the test on an answer the document does not describe. */
export async function documentedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  const { pathname, search } = new URL(url);
  if (OPERATIONAL.test(pathname)) return res;
  const text = await res.clone().text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = text;
  }
  const problem = responseProblem(init.method ?? "GET", pathname + search, res.status, body);
  if (problem) throw new Error(`the BFF's answer is not as documented: ${problem}`);
  return res;
}
