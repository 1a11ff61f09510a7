// GET /customers/:external_customer_id/past_usage?external_subscription_id=&billable_metric_code=&page=&per_page=
// (Lago's path; Meterline's shape, documented here). The subscription's billing periods — its schedule:
// subscription_at, plan interval, billing_time, customer timezone (billing/period.ts) — from the first one to
// the one containing now (the open period included) or the termination, NEWEST FIRST, paginated over periods
// with Lago's `meta`. Per period, per metric with usage in it:
//   events_count / units — Meterline's own usage (table events: what Meterline invoices bill);
//   imported[] — usage imported per source (POST /events/import), "already_billed": true: billed by the
//                previous system, never by Meterline.
// Units follow the metric's aggregation (see db/repositories/past-usage.ts); there are no amounts: imported
// usage was priced elsewhere, and Meterline's amounts are on its invoices.
//
// {
//   "usage_periods": [{
//     "from_datetime": "2026-09-01T00:00:00.000Z", "to_datetime": "2026-10-01T00:00:00.000Z",
//     "lago_subscription_id": "…", "external_subscription_id": "sub_1",
//     "metrics": [{
//       "billable_metric": { "lago_id": "…", "code": "tokens", "name": "Tokens", "aggregation_type": "sum_agg" },
//       "events_count": 5, "units": "8000",
//       "imported": [{ "source": "legacy-billing", "events_count": 2, "units": "300", "already_billed": true }]
//     }]
//   }],
//   "meta": { "current_page": 1, "next_page": null, "prev_page": null, "total_pages": 1, "total_count": 3 }
// }
// 404 customer_not_found / subscription_not_found (of that customer) / billable_metric_not_found.
import { Router } from 'express';
import type { ScheduleInput } from '../../billing/period';
import type { Period } from '../../billing/types';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import {
  billedUsage,
  importedUsage,
  listUsageMetrics,
  loadPastUsageSubject,
  type PastUsageSubject,
} from '../../db/repositories/past-usage';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { paginationMeta, parseBody } from '../schemas/common';
import { PastUsageQuery } from '../schemas/past-usage';
import { startedPeriods } from '../../usage/open-period';
import { subscriptionNowById } from '../services/subscription-now';

/** Every period of the subscription that has started by `now` (clipped at its termination), oldest first. */
export function subscriptionPeriods(subject: PastUsageSubject, now: string): Period[] {
  const schedule: ScheduleInput = {
    subscriptionAt: subject.subscriptionAt,
    interval: subject.interval,
    billingTime: subject.billingTime,
    timezone: subject.timezone,
  };
  return startedPeriods(schedule, subject.terminatedAt, now);
}

export function pastUsageRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/customers/:external_customer_id/past_usage', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(PastUsageQuery, req.query);
    const externalCustomerId = req.params.external_customer_id;
    const subject = await loadPastUsageSubject(ctx.db, organizationId, externalCustomerId, q.external_subscription_id);
    if (!subject) {
      const customer = await getCustomerByExternalId(ctx.db, organizationId, externalCustomerId);
      throw notFound(customer ? 'subscription' : 'customer');
    }
    const metrics = await listUsageMetrics(ctx.db, organizationId, q.billable_metric_code);
    if (q.billable_metric_code !== undefined && metrics.length === 0) throw notFound('billable_metric');

    // On a test clock: the periods started by the clock's time (api/services/subscription-now.ts).
    const now = await subscriptionNowById(ctx.db, organizationId, subject.subscriptionId, new Date());
    const newestFirst = subscriptionPeriods(subject, now.toISOString()).reverse();
    const page = newestFirst.slice((q.page - 1) * q.per_page, q.page * q.per_page);
    const [billed, imported] = await Promise.all([
      billedUsage(ctx.db, organizationId, subject.subscriptionId, page, metrics),
      importedUsage(ctx.db, organizationId, subject.subscriptionId, page, metrics),
    ]);
    const metricByCode = new Map(metrics.map((m) => [m.code, m]));

    const usagePeriods = page.map((period, index) => {
      const codes = new Set<string>();
      for (const u of billed) if (u.periodIndex === index) codes.add(u.code);
      for (const u of imported) if (u.periodIndex === index) codes.add(u.code);
      return {
        from_datetime: period.start,
        to_datetime: period.end,
        lago_subscription_id: subject.subscriptionId,
        external_subscription_id: subject.externalSubscriptionId,
        metrics: [...codes].sort().map((code) => {
          const m = metricByCode.get(code)!;
          const own = billed.find((u) => u.periodIndex === index && u.code === code);
          return {
            billable_metric: { lago_id: m.id, code: m.code, name: m.name, aggregation_type: m.aggregationType },
            events_count: own?.eventsCount ?? 0,
            units: own?.units ?? '0',
            imported: imported
              .filter((u) => u.periodIndex === index && u.code === code)
              .map((u) => ({ source: u.source, events_count: u.eventsCount, units: u.units, already_billed: true })),
          };
        }),
      };
    });
    res.status(200).json({ usage_periods: usagePeriods, meta: paginationMeta(q.page, q.per_page, newestFirst.length) });
  });

  return r;
}
