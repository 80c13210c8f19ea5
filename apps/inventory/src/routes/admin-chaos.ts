// /admin/chaos: the demo knobs (delay and failure rate of the data routes) read and changed at run time, so the
// storefront's status page can break inventory and show the BFF's breaker open, probe and close. Admins only,
// and mounted only when INVENTORY_CHAOS_SWITCHES=1 (a development setting; app.ts answers 404 otherwise).
import { Hono } from "hono";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import type { ChaosKnobs, ChaosSettings } from "@storefront/shared/chaos";
import type { Logger } from "@storefront/shared/observability/logger";
import { validate } from "@storefront/shared/validate";

/** A minute: the BFF gives inventory about a second, so a longer delay shows nothing more and only holds connections. */
export const MAX_SWITCH_DELAY_MS = 60_000;

const ms = z.number().int().min(0).max(MAX_SWITCH_DELAY_MS);
const chaosBody = z.strictObject({
  delay_ms: z
    .strictObject({ min: ms, max: ms })
    .refine((range) => range.min <= range.max, "min must not exceed max")
    .nullable(),
  fail_rate: z.number().min(0).max(1),
});

export type ChaosBody = z.infer<typeof chaosBody>;

const toBody = (knobs: ChaosKnobs): ChaosBody => ({ delay_ms: knobs.delayMs ? { ...knobs.delayMs } : null, fail_rate: knobs.failRate });

export const adminChaosRoutes = (settings: ChaosSettings, logger?: Logger) =>
  new Hono()
    // The role first: a caller who may not turn the knobs learns nothing from the validation of what they sent.
    .use(requireRole("admin"))
    .get("/", (c) => c.json(toBody(settings.get())))
    // Both fields every time (a PUT replaces): what the page shows is then exactly what runs.
    .put("/", validate("json", chaosBody), (c) => {
      const body = c.req.valid("json");
      settings.set({ delayMs: body.delay_ms, failRate: body.fail_rate });
      logger?.info("demo knobs changed", { delayMs: body.delay_ms, failRate: body.fail_rate });
      return c.json(toBody(settings.get()));
    });
