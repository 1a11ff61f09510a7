// Reading a subscription's usage events of a period [start, end) from Postgres.
//
// - streamPeriodEvents: keyset-paginated (timestamp, id) chunks, so a period of millions of events never sits
//   in memory as one result set; loadPeriodEvents collects it (use only when the event count is bounded).
// - aggregateSimpleUsage: count / sum / max of a metric computed IN SQL (one row back). Used by the period
//   close for charges whose usage is a single bucket (no filters, no pricing groups, no per-event values):
//   the 1,000,000-event period is one index range scan, not a million JS objects. A present but non-numeric
//   value surfaces as BillingError 'invalid_event_value' naming the first offending event (same contract as
//   billing/aggregation.ts: missing / JSON null values are ignored but still counted as events).
// - periodUsageTotals: per metric code {eventsCount, units} (units = Σ of the metric's numeric field, "0" for
//   count metrics; non-numeric values are skipped here) — the same shape as the workflow's LiveMetricUsage,
//   for checking live totals against the ledger.
//
// Events are matched by subscription_id (the API resolves external_subscription_id at ingest), organization,
// metric code and timestamp, using the (subscription_id, code, timestamp) index.
import type { Knex } from 'knex';
import { aggregatesFromTotals } from '../../billing/aggregation';
import { BillingError } from '../../billing/errors';
import type { BillableMetric, EventPropertyValue, Period, UsageEvent } from '../../billing/types';
import type { LiveMetricUsage } from '../../contracts/workflows';
import { canonicalDecimal } from '../../billing/decimal-string';

type Db = Knex | Knex.Transaction;

/** What Postgres accepts as a plain number (mirrors billing/aggregation numericEventValue; no NaN/Infinity). */
export const NUMERIC_TEXT_RE = '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,4})?\\s*$';

interface EventRow {
  id: number;
  code: string;
  transaction_id: string;
  timestamp: Date;
  ts_cursor: string;
  properties: Record<string, EventPropertyValue> | null;
  precise_total_amount: string | null;
}

export interface PeriodEventsChunk {
  events: { metricCode: string; event: UsageEvent }[];
}

function periodDates(period: Period): { start: Date; end: Date } {
  const start = new Date(period.start);
  const end = new Date(period.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
    throw new BillingError('invalid_period', `Invalid period ${period.start}..${period.end}`, 'period');
  }
  return { start, end };
}

function scoped(db: Db, organizationId: string, subscriptionId: string, period: Period, alias = 'events'): Knex.QueryBuilder {
  const { start, end } = periodDates(period);
  return db(alias === 'events' ? 'events' : `events as ${alias}`)
    .where(`${alias}.organization_id`, organizationId)
    .where(`${alias}.subscription_id`, subscriptionId)
    .where(`${alias}.timestamp`, '>=', start)
    .where(`${alias}.timestamp`, '<', end);
}

function toUsageEvent(r: EventRow): UsageEvent {
  return {
    transactionId: r.transaction_id,
    timestamp: r.timestamp.toISOString(),
    properties: r.properties ?? {},
    preciseTotalAmount: r.precise_total_amount === null ? null : canonicalDecimal(r.precise_total_amount),
  };
}

/** The period's events of the given metric codes in (timestamp, id) order, `chunkSize` rows per round trip. */
export async function* streamPeriodEvents(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metricCodes: string[],
  period: Period,
  chunkSize = 5000,
): AsyncGenerator<PeriodEventsChunk> {
  if (metricCodes.length === 0) return;
  let cursor: { ts: string; id: number } | null = null;
  for (;;) {
    const q = scoped(db, organizationId, subscriptionId, period)
      .whereIn('code', metricCodes)
      .select('id', 'code', 'transaction_id', 'timestamp', 'properties', 'precise_total_amount', db.raw('"timestamp"::text as ts_cursor'))
      .orderBy([{ column: 'timestamp' }, { column: 'id' }])
      .limit(chunkSize);
    // The cursor keeps Postgres' microseconds (a JS Date would truncate them and skip or repeat rows).
    if (cursor) q.whereRaw('("timestamp", id) > (?::timestamptz, ?)', [cursor.ts, cursor.id]);
    const rows: EventRow[] = await q;
    if (rows.length === 0) return;
    yield { events: rows.map((r) => ({ metricCode: r.code, event: toUsageEvent(r) })) };
    const last = rows[rows.length - 1]!;
    cursor = { ts: last.ts_cursor, id: last.id };
    if (rows.length < chunkSize) return;
  }
}

/** All events of the period per metric code (timestamp order). Every requested code has an entry. */
export async function loadPeriodEvents(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metricCodes: string[],
  period: Period,
): Promise<Record<string, UsageEvent[]>> {
  const out: Record<string, UsageEvent[]> = {};
  for (const code of metricCodes) out[code] = [];
  for await (const chunk of streamPeriodEvents(db, organizationId, subscriptionId, metricCodes, period)) {
    for (const { metricCode, event } of chunk.events) (out[metricCode] ??= []).push(event);
  }
  return out;
}

export interface SimpleUsage {
  eventsCount: number;
  /** Decimal string. */
  units: string;
}

/**
 * count_agg → number of events; sum_agg → Σ field; max_agg → max field (0 without values). Missing / null
 * values are ignored (the event still counts); any other non-numeric value throws 'invalid_event_value'.
 */
export async function aggregateSimpleUsage(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metric: BillableMetric,
  period: Period,
): Promise<SimpleUsage> {
  if (!aggregatesFromTotals(metric.aggregationType)) {
    throw new BillingError('unsupported_sql_aggregation', `${metric.aggregationType} is not aggregated in SQL`, 'aggregation_type');
  }
  const base = scoped(db, organizationId, subscriptionId, period).where('code', metric.code);
  if (metric.aggregationType === 'count_agg') {
    const row = (await base.clone().count<{ n: number | string }[]>({ n: '*' }).first()) as { n: number | string } | undefined;
    return { eventsCount: Number(row?.n ?? 0), units: String(Number(row?.n ?? 0)) };
  }
  const field = metric.fieldName;
  if (!field) {
    throw new BillingError('missing_field_name', `Metric ${metric.code} (${metric.aggregationType}) needs a field_name`, 'field_name');
  }
  const fn = metric.aggregationType === 'sum_agg' ? 'sum' : 'max';
  const row = (await base
    .clone()
    .select(
      db.raw('count(*)::bigint as events_count'),
      db.raw('count(*) filter (where properties->>? is not null and not ((properties->>?) ~ ?))::bigint as invalid_count', [field, field, NUMERIC_TEXT_RE]),
      db.raw(`coalesce(${fn}(case when (properties->>?) ~ ? then (properties->>?)::numeric end), 0)::text as units`, [field, NUMERIC_TEXT_RE, field]),
    )
    .first()) as { events_count: number; invalid_count: number; units: string };
  if (row.invalid_count > 0) {
    const bad = (await base
      .clone()
      .whereRaw('properties->>? is not null and not ((properties->>?) ~ ?)', [field, field, NUMERIC_TEXT_RE])
      .orderBy([{ column: 'timestamp' }, { column: 'id' }])
      .first('transaction_id', db.raw('properties->? as value', [field]))) as { transaction_id: string; value: unknown };
    throw new BillingError(
      'invalid_event_value',
      `Event ${bad.transaction_id}: property "${field}" is not numeric (${JSON.stringify(bad.value)}); ${row.invalid_count} such event(s) in the period`,
      `properties.${field}`,
    );
  }
  return { eventsCount: row.events_count, units: canonicalDecimal(row.units) };
}

/** Per metric code seen in the period: events count and Σ of the metric's numeric field ("0" for count metrics). */
export async function periodUsageTotals(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  period: Period,
): Promise<Record<string, LiveMetricUsage>> {
  const rows: { code: string; events_count: number; units: string }[] = await scoped(db, organizationId, subscriptionId, period, 'e')
    .leftJoin('billable_metrics as m', function join() {
      this.on('m.organization_id', '=', 'e.organization_id').andOn('m.code', '=', 'e.code');
    })
    .groupBy('e.code')
    .select(
      'e.code',
      db.raw('count(*)::bigint as events_count'),
      db.raw(
        `coalesce(sum(case when m.aggregation_type <> 'count_agg' and m.field_name is not null
           and (e.properties->>m.field_name) ~ ? then (e.properties->>m.field_name)::numeric end), 0)::text as units`,
        [NUMERIC_TEXT_RE],
      ),
    );
  const out: Record<string, LiveMetricUsage> = {};
  for (const r of rows) out[r.code] = { eventsCount: r.events_count, units: canonicalDecimal(r.units) };
  return out;
}
