// Request bodies of the nested plan charge routes (api/routes/plan-charges.ts), after Lago 1.51's ChargeCreateInput /
// ChargeUpdateInput / ChargeFilterCreateInput / ChargeFilterUpdateInput and their delete inputs. A charge body is
// checked field by field by the plan validator (the same rules as POST /plans), so it is kept loose here.
import { z } from 'zod';

const cascade = { cascade_updates: z.boolean().optional() };

export const PlanChargeBody = z.object({
  charge: z.looseObject({
    billable_metric_id: z.string().optional(),
    billable_metric_code: z.string().optional(),
    ...cascade,
  }),
});

export const PlanChargeDeleteBody = z.object({ charge: z.object(cascade).optional() });

export const PlanChargeFilterBody = z.object({
  filter: z.object({
    ...cascade,
    invoice_display_name: z.string().nullable().optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    values: z.record(z.string(), z.array(z.string())).optional(),
  }),
});

export const PlanChargeFilterDeleteBody = z.object({ filter: z.object(cascade).optional() });
