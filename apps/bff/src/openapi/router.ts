// The router every public BFF resource starts from: OpenAPIHono, so each route states its contract (request
// and response schemas) and is validated against it. A request that does not match is a 400 in our envelope,
// worded as shared/validate.ts words it for the services.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import { errorBody } from "@storefront/shared/errors";
import { describeIssues } from "@storefront/shared/validate";

export const openApiRouter = <E extends Env = Env>() =>
  new OpenAPIHono<E>({
    defaultHook: (result, c) => {
      if (!result.success) return c.json(errorBody("BAD_REQUEST", `invalid ${result.target}: ${describeIssues(result.error)}`), 400);
    },
  });

/**
 * forward() hands the service's answer on as it is, so the compiler cannot tie it to the statuses the route
 * documents; the contract tests do (openapi.test.ts checks each answer with responseSchema()).
 */
export const passedOn = (answer: Promise<Response>): Promise<never> => answer as Promise<never>;
