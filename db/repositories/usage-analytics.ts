// GET /analytics/usage (Lago's findAllUsages): usage as invoiced, in SQL over fees. A row per period bucket (day,
// ISO week or month of the billed usage period's start, UTC), currency and billable metric: Σ amount_cents of the
// charge fees (and late-event adjustments of charges) on finalized, unvoided invoices, Σ units. Progressive-billing
// invoices are left out (the period's final invoice bills the whole period again, as in invoiced_usage). Money is
// summed as bigint minor units per currency, never converted.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { minorUnits } from './minor-units';

export interface UsageAnalyticsFilter {
  organizationId: string;
  granularity: 'daily' | 'weekly' | 'monthly';
  currency?: string;
  fromDate?: string;
  toDate?: string;
  customerType?: string;
  externalCustomerId?: string;
  customerCountry?: string;
  externalSubscriptionId?: string;
  metricRecurring?: boolean;
  planCode?: string;
  billableMetricCode?: string;
}

export interface UsageAnalyticsRow {
  startOfPeriod: string;
  endOfPeriod: string;
  currency: string;
  billableMetricCode: string | null;
  amountCents: number;
  units: string;
  metricDeleted: boolean;
}

const TRUNC = { daily: 'day', weekly: 'week', monthly: 'month' } as const;

export async function usageAnalytics(db: Knex, f: UsageAnalyticsFilter): Promise<UsageAnalyticsRow[]> {
  const unit = TRUNC[f.granularity];
  const q = db('fees as fe')
    .join('invoices as i', function on() { this.on('i.id', '=', 'fe.invoice_id').andOn('i.organization_id', '=', 'fe.organization_id'); })
    .join('customers as c', 'c.id', 'i.customer_id')
    .leftJoin('subscriptions as s', 's.id', 'i.subscription_id')
    .leftJoin('charges as ch', 'ch.id', 'fe.charge_id')
    .leftJoin('billable_metrics as m', 'm.id', 'ch.billable_metric_id')
    .leftJoin('plans as p', 'p.id', 'fe.plan_id')
    .where({ 'fe.organization_id': f.organizationId, 'i.status': 'finalized' })
    .whereNull('i.voided_at')
    .whereNot('i.invoice_type', 'progressive_billing')
    .where((w) => w.where('fe.fee_type', 'charge').orWhere((a) => a.where('fe.fee_type', 'adjustment').andWhere('fe.adjusts_fee_type', 'charge')));
  if (f.currency) q.where('i.currency', f.currency);
  if (f.fromDate) q.where('fe.from_datetime', '>=', `${f.fromDate}T00:00:00Z`);
  if (f.toDate) q.whereRaw(`fe.from_datetime < (?::date + 1)::timestamp AT TIME ZONE 'UTC'`, [f.toDate]);
  if (f.customerType) q.where('c.customer_type', f.customerType);
  if (f.externalCustomerId) q.where('c.external_id', f.externalCustomerId);
  if (f.customerCountry) q.where('c.country', f.customerCountry);
  if (f.externalSubscriptionId) q.where('s.external_id', f.externalSubscriptionId);
  if (f.metricRecurring !== undefined) q.where('m.recurring', f.metricRecurring);
  if (f.planCode) q.where('p.code', f.planCode);
  if (f.billableMetricCode) q.where('fe.metric_code', f.billableMetricCode);
  const rows: any[] = await q
    .groupByRaw('1, 2, 3')
    .orderByRaw('1, 2, 3 NULLS LAST')
    .select(
      db.raw(`date_trunc('${unit}', fe.from_datetime AT TIME ZONE 'UTC') AS bucket`),
      db.raw('trim(i.currency) AS currency'),
      db.raw('fe.metric_code AS code'),
      db.raw('sum(fe.amount_cents)::bigint AS amount_cents'),
      db.raw('sum(fe.units)::text AS units'),
      db.raw('bool_and(m.id IS NULL) AS metric_deleted'), // metrics are deleted outright: no metric row left
      db.raw(`to_char(date_trunc('${unit}', fe.from_datetime AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS start_dt`),
      db.raw(`to_char(date_trunc('${unit}', fe.from_datetime AT TIME ZONE 'UTC') + interval '1 ${unit}' - interval '1 day', 'YYYY-MM-DD') AS end_dt`),
    );
  return rows.map((r) => {
    const cents = minorUnits(r.amount_cents, 'usage amount');
    return { startOfPeriod: r.start_dt, endOfPeriod: r.end_dt, currency: r.currency, billableMetricCode: r.code, amountCents: cents, units: canonicalDecimal(String(r.units)), metricDeleted: r.metric_deleted === true };
  });
}
