// A period's usage aggregated IN SQL per combination of dimension values (the period close's reader,
// usage/sql-usage.ts; the pure half is billing/dims-aggregates.ts). Postgres returns one row per distinct
// combination of the given keys' raw JSON values — never the events — so a period of 10,000,000 events costs
// one index range scan (plus one for latest / unique count) and a few rows of memory in the worker.
//
// - aggregateDims: per dims (jsonb_build_object of the keys' raw JSON values; jsonb equality = JSON value
//   equality, and node-postgres hands back the same JS values a raw event read gives, so billing's String(v)
//   matching is unchanged): events count, Σ / max of the numeric values (NUMERIC_TEXT_RE, as usage.ts), Σ vᵢ ×
//   (end ms − tᵢ ms) (the weighted-sum area; tᵢ = floor of the timestamp in ms, as a JS Date of it), Σ
//   precise_total_amount, the first (µs, id) and the number of present non-numeric values.
// - latestPerDims: per dims, the value of the latest event carrying a numeric value (ORDER BY timestamp DESC,
//   id DESC — the raw path's last in (timestamp, input) order).
// - uniqueCountsPerBucket: distinct values per bucket id, the dims → bucket mapping given as one JSON parameter.
//   Values are compared as billing's String(v): strings as they are, JSON numbers normalised with trim_scale
//   (1.50 and 1.5 are one value, as in JS). Known divergence: a JSON number JS prints in exponent form
//   (|v| < 1e-6 or ≥ 1e21) or with more than 15 significant digits is compared by its decimal value here.
// - firstInvalidValue: the first present non-numeric value (for the 'invalid_event_value' message).
import type { Knex } from 'knex';
import type { DimsAggregate } from '../../billing/dims-aggregates';
import { BillingError } from '../../billing/errors';
import type { EventPropertyValue, Period } from '../../billing/types';
import { NUMERIC_TEXT_RE } from './usage';

type Db = Knex | Knex.Transaction;

export interface DimsQuery {
  organizationId: string;
  subscriptionId: string;
  metricCode: string;
  /** The metric's value field (null for count_agg). */
  fieldName: string | null;
  /** Dimension keys, sorted. */
  dimKeys: string[];
  period: Period;
  /** Compute Σ vᵢ × (end − tᵢ) (weighted_sum_agg only; '0' otherwise). */
  needsArea?: boolean;
  /** Compute Σ precise_total_amount (dynamic charges only; '0' otherwise). */
  needsPrecise?: boolean;
  /** Compute the first event's (µs, id) (only needed to order several buckets of one filter slot; ['0','0'] otherwise). */
  needsFirst?: boolean;
}

export interface DimsAggregateRow extends DimsAggregate {
  /** Events whose value is present but not numeric. */
  invalidCount: number;
}

function bounds(period: Period): { start: Date; end: Date; endMs: number } {
  const start = new Date(period.start);
  const end = new Date(period.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
    throw new BillingError('invalid_period', `Invalid period ${period.start}..${period.end}`, 'period');
  }
  return { start, end, endMs: end.getTime() };
}

/** `jsonb_build_object('k1', properties->'k1', ...)` (or '{}') and its bindings. */
function dimsExpr(keys: string[]): { sql: string; bindings: string[] } {
  if (keys.length === 0) return { sql: `'{}'::jsonb`, bindings: [] };
  return { sql: `jsonb_build_object(${keys.map(() => '?::text, properties->?::text').join(', ')})`, bindings: keys.flatMap((k) => [k, k]) };
}

const WHERE = `organization_id = ? AND subscription_id = ? AND code = ? AND "timestamp" >= ? AND "timestamp" < ?`;

function whereBindings(q: DimsQuery, start: Date, end: Date): Knex.Value[] {
  return [q.organizationId, q.subscriptionId, q.metricCode, start, end];
}

interface RawAggRow {
  dims: Record<string, EventPropertyValue>;
  events_count: string | number;
  invalid_count: string | number;
  sum: string;
  max: string | null;
  area: string;
  precise: string;
  first_us: string;
  first_id: string;
}

/** One row per distinct dims combination of the period's events of the metric (see the header). */
export async function aggregateDims(db: Db, q: DimsQuery): Promise<DimsAggregateRow[]> {
  const { start, end, endMs } = bounds(q.period);
  const d = dimsExpr(q.dimKeys);
  const field = q.fieldName;
  // Without a value field (count_agg): no value columns to compute.
  const valueCols = field
    ? `, properties->>?::text AS val, CASE WHEN (properties->>?::text) ~ ? THEN (properties->>?::text)::numeric END AS num`
    : `, NULL::text AS val, NULL::numeric AS num`;
  const valueBindings = field ? [field, field, NUMERIC_TEXT_RE, field] : [];
  // Only what the charges need is computed: the scan of a 10,000,000-event period is the cost, per-row work matters.
  const area = q.needsArea ? `coalesce(sum(num * (?::bigint - floor(extract(epoch FROM "timestamp") * 1000)::bigint)), 0)::text` : `'0'`;
  const first = q.needsFirst
    ? `(min(ARRAY[(extract(epoch FROM "timestamp") * 1000000)::bigint, id]))[1]::text AS first_us, (min(ARRAY[(extract(epoch FROM "timestamp") * 1000000)::bigint, id]))[2]::text AS first_id`
    : `'0' AS first_us, '0' AS first_id`;
  const r = (await db.raw(
    `SELECT dims, count(*)::bigint AS events_count,
            count(*) FILTER (WHERE val IS NOT NULL AND num IS NULL)::bigint AS invalid_count,
            coalesce(sum(num), 0)::text AS sum, max(num)::text AS max,
            ${area} AS area,
            ${q.needsPrecise ? 'coalesce(sum(precise_total_amount), 0)::text' : `'0'`} AS precise,
            ${first}
     FROM (SELECT ${d.sql} AS dims${valueCols}, "timestamp", id, precise_total_amount
           FROM events WHERE ${WHERE}) e
     GROUP BY dims`,
    [...(q.needsArea ? [endMs] : []), ...d.bindings, ...valueBindings, ...whereBindings(q, start, end)],
  )) as { rows: RawAggRow[] };
  return r.rows.map((x) => ({
    dims: x.dims,
    eventsCount: Number(x.events_count),
    invalidCount: Number(x.invalid_count),
    sum: x.sum,
    max: x.max,
    weightedArea: x.area,
    latest: null,
    preciseSum: x.precise,
    first: [x.first_us, x.first_id],
  }));
}

/** Per dims (stable JSON of the keys' values), the latest event carrying a numeric value (see the header). */
export async function latestPerDims(db: Db, q: DimsQuery): Promise<{ dims: Record<string, EventPropertyValue>; key: [string, string]; value: string }[]> {
  const field = q.fieldName;
  if (!field) throw new BillingError('missing_field_name', `Metric ${q.metricCode} (latest_agg) needs a field_name`, 'field_name');
  const { start, end } = bounds(q.period);
  const d = dimsExpr(q.dimKeys);
  const r = (await db.raw(
    `SELECT DISTINCT ON (dims) dims, tus::text AS tus, id::text AS id, num::text AS value
     FROM (SELECT ${d.sql} AS dims, (extract(epoch FROM "timestamp") * 1000000)::bigint AS tus, "timestamp", id,
                  (properties->>?::text)::numeric AS num
           FROM events WHERE ${WHERE} AND (properties->>?::text) ~ ?) e
     ORDER BY dims, "timestamp" DESC, id DESC`,
    [...d.bindings, field, ...whereBindings(q, start, end), field, NUMERIC_TEXT_RE],
  )) as { rows: { dims: Record<string, EventPropertyValue>; tus: string; id: string; value: string }[] };
  return r.rows.map((x) => ({ dims: x.dims, key: [x.tus, x.id], value: x.value }));
}

/** Distinct values of the metric's field per bucket id, given the bucket of every dims combination. */
export async function uniqueCountsPerBucket(db: Db, q: DimsQuery, assignments: { dims: Record<string, EventPropertyValue>; bucket: string }[]): Promise<Map<string, number>> {
  const field = q.fieldName;
  if (!field) throw new BillingError('missing_field_name', `Metric ${q.metricCode} (unique_count_agg) needs a field_name`, 'field_name');
  const out = new Map<string, number>();
  if (assignments.length === 0) return out;
  const { start, end } = bounds(q.period);
  const d = dimsExpr(q.dimKeys);
  const r = (await db.raw(
    `WITH m AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(dims jsonb, bucket text))
     SELECT m.bucket, count(DISTINCT e.uval)::bigint AS n
     FROM (SELECT ${d.sql} AS dims,
                  CASE jsonb_typeof(properties->?::text) WHEN 'number' THEN trim_scale((properties->>?::text)::numeric)::text
                       ELSE properties->>?::text END AS uval
           FROM events WHERE ${WHERE}) e
     JOIN m ON m.dims = e.dims
     GROUP BY m.bucket`,
    [JSON.stringify(assignments), ...d.bindings, field, field, field, ...whereBindings(q, start, end)],
  )) as { rows: { bucket: string; n: string | number }[] };
  for (const x of r.rows) out.set(x.bucket, Number(x.n));
  return out;
}

/** The first present non-numeric value of the metric's field in the period, or null. */
export async function firstInvalidValue(db: Db, q: DimsQuery): Promise<{ transactionId: string; value: unknown } | null> {
  const field = q.fieldName;
  if (!field) return null;
  const { start, end } = bounds(q.period);
  const r = (await db.raw(
    `SELECT transaction_id, properties->?::text AS value FROM events
     WHERE ${WHERE} AND properties->>?::text IS NOT NULL AND NOT ((properties->>?::text) ~ ?)
     ORDER BY "timestamp", id LIMIT 1`,
    [field, ...whereBindings(q, start, end), field, field, NUMERIC_TEXT_RE],
  )) as { rows: { transaction_id: string; value: unknown }[] };
  const x = r.rows[0];
  return x ? { transactionId: x.transaction_id, value: x.value } : null;
}
