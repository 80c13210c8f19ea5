// Path parameters shared by the BFF's routers.
import { z } from "zod";
import { positiveIntString } from "@storefront/shared/validate";

export const productParams = z.strictObject({ product_id: positiveIntString });
