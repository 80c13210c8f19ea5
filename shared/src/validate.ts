// zod validation for Hono routes that answers bad input with a 400 in the error envelope.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { z } from "zod";
import { errorBody } from "./errors.ts";

/** zod's issues in one line: "field: message; other: message". */
export const describeIssues = (error: { issues: readonly { path: PropertyKey[]; message: string }[] }): string =>
  error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");

/** `validate("json", schema)`: like zValidator, but failures become `400 {error: {code: "BAD_REQUEST"}}`. */
export const validate = <Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) =>
  zValidator(target, schema, (result, c) => {
    if (!result.success) return c.json(errorBody("BAD_REQUEST", `invalid ${target}: ${describeIssues(result.error)}`), 400);
  });

/** The largest value of a Postgres `int`. */
export const MAX_INT4 = 2_147_483_647;

/** A positive integer that fits a Postgres `int`, written plainly in decimal ("1", not "01", "1e3" or " 1"). */
export const positiveIntString = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, "must be a positive integer")
  .transform(Number)
  .refine((n) => n <= MAX_INT4, "is too large");

export const positiveInt = z.number().int().positive().max(MAX_INT4);

export const idParams = z.strictObject({ id: positiveIntString });

/** `/users/:id/<resource>/:product_id` */
export const userProductParams = z.strictObject({ id: positiveIntString, product_id: positiveIntString });
