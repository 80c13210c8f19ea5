// The API's documentation: the OpenAPI document at /openapi.json and Scalar's reference page at /docs. The
// page's script is the installed @scalar/api-reference browser bundle, served from here rather than a CDN, so
// the docs work offline and the page names no other host. Nothing is read until it is asked for.
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { Scalar } from "@scalar/hono-api-reference";

export const DOCUMENT_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";
export const SCALAR_BUNDLE_PATH = "/docs/scalar.js";

/** The bundle's name is not versioned, so browsers check again daily rather than keeping it for good. */
const BUNDLE_CACHE_CONTROL = "public, max-age=86400";

/** The UMD build (`window.Scalar`), beside the package's entry point. */
const scalarBundleFile = () => fileURLToPath(new URL("./browser/standalone.js", import.meta.resolve("@scalar/api-reference")));

export function docsRoutes(document: () => object) {
  let bundlePath: string | undefined;
  return new Hono()
    .get(DOCUMENT_PATH, (c) => c.json(document()))
    .get(
      DOCS_PATH,
      Scalar({
        url: DOCUMENT_PATH,
        cdn: SCALAR_BUNDLE_PATH,
        pageTitle: "Storefront API",
        // Nothing from other hosts: no web fonts, no telemetry, no AI agent or MCP (they call scalar.com).
        withDefaultFonts: false,
        telemetry: false,
        agent: { disabled: true },
        mcp: { disabled: true },
        showDeveloperTools: "never",
      }),
    )
    .get(SCALAR_BUNDLE_PATH, async () => {
      bundlePath ??= scalarBundleFile();
      const bundle = Bun.file(bundlePath);
      // A 500 in the log rather than a 200 that breaks off: the package is installed without its browser build.
      if (!(await bundle.exists())) throw new Error(`Scalar's browser bundle is missing: ${bundlePath}`);
      return new Response(bundle, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": BUNDLE_CACHE_CONTROL } });
    });
}
