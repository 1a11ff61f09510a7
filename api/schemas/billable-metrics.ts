import { z } from 'zod';

export const AGGREGATION_TYPES = ['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg'] as const;

export const BillableMetricFilterInput = z.object({
  key: z.string().min(1),
  values: z.array(z.string()).min(1),
});

export const BillableMetricCreateBody = z
  .object({
    billable_metric: z.object({
      name: z.string().min(1),
      code: z.string().min(1).max(255),
      description: z.string().nullable().optional(),
      aggregation_type: z.enum(AGGREGATION_TYPES),
      field_name: z.string().min(1).nullable().optional(),
      recurring: z.boolean().optional().default(false),
      weighted_interval: z.enum(['seconds']).nullable().optional(),
      filters: z.array(BillableMetricFilterInput).optional().default([]),
      // Lago features that change the billed value and are not implemented: refused, never silently ignored.
      expression: z.string().nullable().optional(),
      rounding_function: z.enum(['ceil', 'floor', 'round']).nullable().optional(),
      rounding_precision: z.number().int().nullable().optional(),
    }),
  })
  .superRefine((body, ctx) => {
    const bm = body.billable_metric;
    if (bm.aggregation_type !== 'count_agg' && !bm.field_name) {
      ctx.addIssue({ code: 'custom', path: ['billable_metric', 'field_name'], message: 'value_is_mandatory' });
    }
    if (bm.recurring && bm.aggregation_type !== 'sum_agg' && bm.aggregation_type !== 'unique_count_agg' && bm.aggregation_type !== 'weighted_sum_agg') {
      ctx.addIssue({ code: 'custom', path: ['billable_metric', 'recurring'], message: 'not_compatible_with_aggregation_type' });
    }
    if (bm.expression) ctx.addIssue({ code: 'custom', path: ['billable_metric', 'expression'], message: 'not_supported' });
    if (bm.rounding_function) ctx.addIssue({ code: 'custom', path: ['billable_metric', 'rounding_function'], message: 'not_supported' });
    const keys = new Set<string>();
    bm.filters.forEach((f, i) => {
      if (keys.has(f.key)) ctx.addIssue({ code: 'custom', path: ['billable_metric', 'filters', i, 'key'], message: 'value_already_exist' });
      keys.add(f.key);
    });
  });

export type BillableMetricCreateInput = z.output<typeof BillableMetricCreateBody>['billable_metric'];
