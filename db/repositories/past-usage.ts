// Usage history of a subscription per billing period and metric, from two ledgers kept apart:
// - `events`: usage Meterline itself meters (what its invoices bill);
// - `imported_usage`: usage billed by a previous billing system (reported with already_billed, never billed here).
//
// Units per period follow the metric's aggregation, computed in SQL over the page's periods in one query per
// ledger: count_agg → number of events; sum_agg and weighted_sum_agg → Σ field (for weighted_sum this is the
// plain sum, not the time-weighted figure); max_agg → max field; latest_agg → the latest value;
// unique_count_agg → distinct field values. A missing or non-numeric value counts as an event, adds no units.
import type { Knex } from 'knex';
import type { BillingTime, Interval, Period } from '../../billing/types';
import { canonicalDecimal } from '../../billing/decimal-string';
import { NUMERIC_TEXT_RE } from './usage';

type Db = Knex | Knex.Transaction;

export interface PastUsageSubject {
  subscriptionId: string;
  externalSubscriptionId: string;
  customerId: string;
  externalCustomerId: string;
  status: string;
  /** ISO UTC */
  subscriptionAt: string;
  terminatedAt: string | null;
  interval: Interval;
  billingTime: BillingTime;
  /** The customer's IANA timezone, else the organization's. */
  timezone: string;
}

/** The subscription (of that customer) whose history is read; null when either does not exist. */
export async function loadPastUsageSubject(
  db: Db,
  organizationId: string,
  externalCustomerId: string,
  externalSubscriptionId: string,
): Promise<PastUsageSubject | null> {
  const r = await db('subscriptions as s')
    .join('customers as c', 'c.id', 's.customer_id')
    .join('plans as p', 'p.id', 's.plan_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'c.organization_id').andOn('bes.code', '=', 'c.billing_entity_code');
    })
    .where({ 's.organization_id': organizationId, 's.external_id': externalSubscriptionId, 'c.external_id': externalCustomerId })
    .first(
      's.id', 's.external_id', 's.customer_id', 'c.external_id as external_customer_id', 's.status', 's.subscription_at', 's.terminated_at',
      's.billing_time', 'p.interval', 'c.timezone as customer_timezone', 'bes.timezone as org_timezone',
    );
  if (!r) return null;
  return {
    subscriptionId: r.id,
    externalSubscriptionId: r.external_id,
    customerId: r.customer_id,
    externalCustomerId: r.external_customer_id,
    status: r.status,
    subscriptionAt: new Date(r.subscription_at).toISOString(),
    terminatedAt: r.terminated_at ? new Date(r.terminated_at).toISOString() : null,
    interval: r.interval,
    billingTime: r.billing_time,
    timezone: r.customer_timezone || r.org_timezone || 'UTC',
  };
}

export interface UsageMetric {
  code: string;
  name: string;
  id: string;
  aggregationType: string;
  fieldName: string | null;
}

export async function listUsageMetrics(db: Db, organizationId: string, code?: string): Promise<UsageMetric[]> {
  const q = db('billable_metrics').where('organization_id', organizationId).select('id', 'code', 'name', 'aggregation_type', 'field_name');
  if (code !== undefined) q.andWhere('code', code);
  const rows: Record<string, any>[] = await q;
  return rows.map((r) => ({ id: r.id, code: r.code, name: r.name, aggregationType: r.aggregation_type, fieldName: r.field_name ?? null }));
}

export interface LedgerUsage {
  /** Index of the period in the `periods` argument. */
  periodIndex: number;
  code: string;
  /** 'events' for Meterline's own usage; the import's source for imported usage. */
  source: string;
  eventsCount: number;
  /** Decimal string. */
  units: string;
}

/** How one ledger names its value: the metric field in properties (events) or the stored value (imports). */
const LEDGERS = {
  events: { table: 'events', value: `case when m.field is not null and (x.properties->>m.field) ~ ? then (x.properties->>m.field)::numeric end`, valueBindings: 1, source: `'events'` },
  imported: { table: 'imported_usage', value: 'x.value', valueBindings: 0, source: 'x.source' },
} as const;

async function ledgerUsage(
  db: Db,
  ledger: keyof typeof LEDGERS,
  organizationId: string,
  subscriptionId: string,
  periods: Period[],
  metrics: UsageMetric[],
): Promise<LedgerUsage[]> {
  if (periods.length === 0 || metrics.length === 0) return [];
  const l = LEDGERS[ledger];
  const periodValues = periods.map(() => '(?::int, ?::timestamptz, ?::timestamptz)').join(', ');
  const metricValues = metrics.map(() => '(?::text, ?::text, ?::text)').join(', ');
  const sql = `
    WITH p(idx, s, e) AS (VALUES ${periodValues}),
         m(code, agg, field) AS (VALUES ${metricValues})
    SELECT p.idx, x.code, ${l.source} AS source, count(*)::bigint AS events_count,
      (CASE m.agg
        WHEN 'count_agg' THEN count(*)::numeric
        WHEN 'max_agg' THEN coalesce(max(v.val), 0)
        WHEN 'latest_agg' THEN coalesce((array_agg(v.val ORDER BY x."timestamp" DESC, x.id DESC) FILTER (WHERE v.val IS NOT NULL))[1], 0)
        WHEN 'unique_count_agg' THEN count(DISTINCT x.properties->>m.field)::numeric
        ELSE coalesce(sum(v.val), 0)
      END)::text AS units
    FROM p
    JOIN ${l.table} x ON x.organization_id = ? AND x.subscription_id = ? AND x."timestamp" >= p.s AND x."timestamp" < p.e
    JOIN m ON m.code = x.code
    CROSS JOIN LATERAL (SELECT ${l.value} AS val) v
    GROUP BY p.idx, x.code, m.agg, 3
    ORDER BY p.idx, x.code, 3`;
  const bindings: unknown[] = [
    ...periods.flatMap((p, i) => [i, p.start, p.end]),
    ...metrics.flatMap((m) => [m.code, m.aggregationType, m.fieldName]),
    organizationId,
    subscriptionId,
    // The lateral value expression is the last placeholder of the text.
    ...(l.valueBindings === 1 ? [NUMERIC_TEXT_RE] : []),
  ];
  const result = await db.raw(sql, bindings as Knex.RawBinding[]);
  return (result.rows as Record<string, any>[]).map((r) => ({
    periodIndex: Number(r.idx),
    code: r.code,
    source: r.source,
    eventsCount: Number(r.events_count),
    units: canonicalDecimal(r.units),
  }));
}

/** Meterline's own usage (`events`) per period index and metric. */
export function billedUsage(db: Db, organizationId: string, subscriptionId: string, periods: Period[], metrics: UsageMetric[]): Promise<LedgerUsage[]> {
  return ledgerUsage(db, 'events', organizationId, subscriptionId, periods, metrics);
}

/** Imported usage (`imported_usage`) per period index, metric and source. */
export function importedUsage(db: Db, organizationId: string, subscriptionId: string, periods: Period[], metrics: UsageMetric[]): Promise<LedgerUsage[]> {
  return ledgerUsage(db, 'imported', organizationId, subscriptionId, periods, metrics);
}
