import { Router } from 'express';
import {
  createBillableMetric,
  DuplicateCodeError,
  getBillableMetricByCode,
  listBillableMetricsPage,
  type BillableMetricRecord,
} from '../../db/repositories/billable-metrics';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { BillableMetricCreateBody } from '../schemas/billable-metrics';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';

export function serializeBillableMetric(m: BillableMetricRecord) {
  return {
    lago_id: m.id,
    name: m.name,
    code: m.code,
    description: m.description,
    aggregation_type: m.aggregationType,
    field_name: m.fieldName,
    recurring: m.recurring,
    weighted_interval: m.aggregationType === 'weighted_sum_agg' ? 'seconds' : null,
    rounding_function: null,
    rounding_precision: null,
    filters: m.filters.map((f) => ({ key: f.key, values: f.values })),
    created_at: iso(m.createdAt),
  };
}

export function billableMetricRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/billable_metrics', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(BillableMetricCreateBody, req.body).billable_metric;
    try {
      const metric = await createBillableMetric(ctx.db, organizationId, {
        code: input.code,
        name: input.name,
        description: input.description ?? null,
        aggregationType: input.aggregation_type,
        fieldName: input.aggregation_type === 'count_agg' ? null : (input.field_name ?? null),
        recurring: input.recurring,
        filters: input.filters,
      });
      ctx.catalogChanged(organizationId);
      res.status(200).json({ billable_metric: serializeBillableMetric(metric) });
    } catch (err) {
      if (err instanceof DuplicateCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/billable_metrics', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { metrics, totalCount } = await listBillableMetricsPage(ctx.db, orgId(res), page, per_page);
    res.json({ billable_metrics: metrics.map(serializeBillableMetric), meta: paginationMeta(page, per_page, totalCount) });
  });

  r.get('/billable_metrics/:code', async (req, res) => {
    const metric = await getBillableMetricByCode(ctx.db, orgId(res), req.params.code);
    if (!metric) throw notFound('billable_metric');
    res.json({ billable_metric: serializeBillableMetric(metric) });
  });

  return r;
}
