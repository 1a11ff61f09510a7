// Usage rollups (table usage_rollups, migration 20261127000004): hourly per (subscription, metric, dims)
// count / Σ / max of the events that were actually inserted, so current usage never scans raw events.
//
// WRITE SIDE — insertEventsWithRollups(db, rows, specs): the whole ingest step of a group-commit group in ONE
// autocommit statement (data-modifying CTE): the rows go in as one JSON parameter (jsonb_to_recordset), the
// events are inserted with ON CONFLICT DO NOTHING RETURNING, and only the returned rows (a duplicate
// transaction_id never counts twice) are grouped in SQL by (org, subscription, metric, UTC hour, dims) and
// upserted with `ON CONFLICT DO UPDATE SET events_count = +, sum = +, max = GREATEST`, in key order (so
// concurrent statements lock shared rows in the same order: no deadlock between writers); events and rollups
// commit together. applyRollups(trx, insertedEvents, specs) is the rollup half alone, for callers that insert
// events themselves inside a transaction.
//   count_agg / sum_agg / max_agg / weighted_sum_agg metrics are rolled up (value_time_sum = Σ v × t ms, for the
//   weighted sum at close); latest_agg and unique_count_agg read raw events (in SQL at close).
//   Values: the field's value as text (JS number → String(n), string as is), parsed in SQL with the same
//   NUMERIC_TEXT_RE as the raw SQL path (usage.ts); a present non-numeric value increments
//   invalid_values_count instead (the reader then takes the raw path, which throws 'invalid_event_value').
//
// DIMS RULE — dims = {key: String(event.properties[key]) | null} for every key of the metric's dimension set:
//   the metric's `filters` keys ∪ keys of every charge filter on the metric ∪ every pricing_group_keys (legacy
//   grouped_by) in the properties of any charge (and charge filter) on the metric, over ALL plans of the
//   organization (per metric, not per subscription: one cached lookup per org, plan changes keep working).
//   Missing / JSON-null properties are stored as null, so a row always says which keys it was built with.
//   Stringification = billing/aggregation's propString, so filter matching over dims equals matching events.
//
// READ SIDE — rows only: rollupTotalsOfHours (Σ per (metric, dims) over whole hours) and eventsInRanges (raw
//   events of the partial edge hours); splitPeriod says which is which. The reader that turns them into billing
//   usage (projection, raw fallback) is usage/rollup-usage.ts, its aggregation math billing/dims-totals.ts.
import type { Knex } from 'knex';
import { aggregatesFromTotals, pricingGroupKeys } from '../../billing/aggregation';
import { BillingError } from '../../billing/errors';
import type { AggregationType, ChargeProperties, EventPropertyValue, Period } from '../../billing/types';
import { TtlCache } from '../../cache/ttl-cache';
import { EVENT_ID_COLUMN, EVENT_ID_XID_FIRST, EVENT_RECORD_COLUMNS, eventInsertCtes, eventRecord, insertedEvents, pgQuery, sortedForInsert, type EventRecord, type EventRow, type InsertedEvent } from './events';
import { NUMERIC_TEXT_RE } from './usage';

type Db = Knex | Knex.Transaction;

const HOUR_MS = 3_600_000;

// ---------------------------------------------------------------------------------------------------------
// Metric specs (what ingest needs to know to roll an event up)

export interface RollupMetricSpec {
  code: string;
  aggregationType: AggregationType;
  fieldName: string | null;
  /** Sorted dimension keys (see DIMS RULE). */
  dimKeys: string[];
}

/** Spec of an (organization, metric code); undefined when unknown. */
export type RollupSpecLookup = (organizationId: string, code: string) => RollupMetricSpec | undefined;

function keysOfValues(values: unknown): string[] {
  return values && typeof values === 'object' && !Array.isArray(values) ? Object.keys(values) : [];
}

function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

/** Every metric of the organization with its dimension key set (two queries). */
export async function loadRollupMetricSpecs(db: Db, organizationId: string): Promise<Map<string, RollupMetricSpec>> {
  const [metrics, charges] = await Promise.all([
    db('billable_metrics').where({ organization_id: organizationId }).select('id', 'code', 'aggregation_type', 'field_name', 'filters') as Promise<
      { id: string; code: string; aggregation_type: AggregationType; field_name: string | null; filters: unknown }[]
    >,
    db('charges').where({ organization_id: organizationId }).select('billable_metric_id', 'properties', 'filters') as Promise<
      { billable_metric_id: string; properties: unknown; filters: unknown }[]
    >,
  ]);
  const keysByMetric = new Map<string, Set<string>>();
  for (const m of metrics) {
    const keys = new Set<string>();
    const filters = parseJson(m.filters);
    if (Array.isArray(filters)) for (const f of filters) if (f && typeof f.key === 'string') keys.add(f.key);
    keysByMetric.set(m.id, keys);
  }
  for (const c of charges) {
    const keys = keysByMetric.get(c.billable_metric_id);
    if (!keys) continue;
    const props = parseJson(c.properties);
    if (props && typeof props === 'object') for (const k of pricingGroupKeys(props as ChargeProperties)) keys.add(k);
    const filters = parseJson(c.filters);
    if (Array.isArray(filters)) {
      for (const f of filters as { values?: unknown; properties?: unknown }[]) {
        for (const k of keysOfValues(f?.values)) keys.add(k);
        if (f?.properties && typeof f.properties === 'object') for (const k of pricingGroupKeys(f.properties as ChargeProperties)) keys.add(k);
      }
    }
  }
  const out = new Map<string, RollupMetricSpec>();
  for (const m of metrics) {
    out.set(m.code, {
      code: m.code,
      aggregationType: m.aggregation_type,
      fieldName: m.field_name === '' ? null : m.field_name,
      dimKeys: [...keysByMetric.get(m.id)!].sort(),
    });
  }
  return out;
}

/**
 * Per-organization cache of rollup specs for the ingest path (one load per TTL; an unknown code reloads at
 * most once per `missRefreshMs`). A stale dimension key set is safe: readers detect rows missing a key they
 * need and read raw events for that metric instead.
 */
export class RollupSpecCache {
  /** organization id → its specs and when they were loaded (cache/ttl-cache.ts: TTL, single-flight loads). */
  private readonly entries: TtlCache<string, { loadedAt: number; specs: Map<string, RollupMetricSpec> }>;
  private readonly missRefreshMs: number;

  constructor(private readonly db: Knex, options: { ttlMs?: number; missRefreshMs?: number } = {}) {
    this.missRefreshMs = options.missRefreshMs ?? 0;
    this.entries = new TtlCache({
      maxEntries: 10_000,
      ttlMs: options.ttlMs ?? 30_000,
      load: async (org) => ({ loadedAt: Date.now(), specs: await loadRollupMetricSpecs(this.db, org) }),
    });
  }

  /** Specs of every organization present in `rows`, loading what is missing or stale. */
  async lookupFor(rows: { organizationId: string; code: string }[]): Promise<RollupSpecLookup> {
    const codesByOrg = new Map<string, Set<string>>();
    for (const r of rows) {
      let s = codesByOrg.get(r.organizationId);
      if (!s) codesByOrg.set(r.organizationId, (s = new Set()));
      s.add(r.code);
    }
    const specsByOrg = new Map<string, Map<string, RollupMetricSpec>>();
    await Promise.all(
      [...codesByOrg].map(async ([org, codes]) => {
        const now = Date.now();
        let e = await this.entries.get(org);
        // An unknown code reloads an entry older than missRefreshMs (never the one this call just loaded).
        if ([...codes].some((c) => !e.specs.has(c)) && now - e.loadedAt >= this.missRefreshMs) e = await this.entries.reload(org);
        specsByOrg.set(org, e.specs);
      }),
    );
    return (org, code) => specsByOrg.get(org)?.get(code);
  }

  invalidate(organizationId: string): void {
    this.entries.invalidate(organizationId);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Write side

export interface RollupEventInput {
  organizationId: string;
  subscriptionId: string;
  code: string;
  timestamp: string | Date;
  properties: Record<string, unknown>;
}

function propString(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return String(v);
}

/** The event's dims object (keys in `keys` order, which is sorted). */
function dimsObject(properties: Record<string, unknown>, keys: readonly string[]): Record<string, string | null> {
  const o: Record<string, string | null> = {};
  for (const k of keys) o[k] = propString(properties[k]);
  return o;
}

/** The event's dims object as canonical JSON (keys in `keys` order, which is sorted). */
export function dimsJson(properties: Record<string, unknown>, keys: readonly string[]): string {
  if (keys.length === 0) return '{}';
  return JSON.stringify(dimsObject(properties, keys));
}

function rawValueText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NaN';
  if (typeof v === 'string') return v;
  return JSON.stringify(v); // boolean / object: present but not numeric
}

/** count / sum / max, and weighted_sum (its Σ vᵢ × tᵢ column, migration 20261201001901) are rolled up. */
export function isRolledUp(spec: RollupMetricSpec): boolean {
  return aggregatesFromTotals(spec.aggregationType) || spec.aggregationType === 'weighted_sum_agg';
}

/** The value text an event adds to its rollup (null: no value, or a count_agg metric). */
function valueText(e: { properties: Record<string, unknown> }, spec: RollupMetricSpec): string | null {
  return spec.aggregationType === 'count_agg' || !spec.fieldName ? null : rawValueText(e.properties[spec.fieldName]);
}

/**
 * Upsert of the rollup rows of the events in `from` (a FROM clause exposing `src` with columns o, s, c, ts, dims,
 * val; $2 = NUMERIC_TEXT_RE): grouped by (org, subscription, metric, UTC hour, dims), upserted IN KEY ORDER so
 * concurrent statements lock shared rollup rows in the same order (no deadlock between writers).
 */
/** The rollup upsert of the rows `from` yields (o, s, c, ts, dims, val); exported for bench:event-writer's old statement. */
export function rollupUpsertFrom(from: string): string {
  return `INSERT INTO usage_rollups AS r
    (organization_id, subscription_id, metric_code, bucket_start, dims, events_count, sum, max, invalid_values_count, value_time_sum)
  SELECT o, s, c, bucket, dims, count(*), coalesce(sum(v), 0), max(v), count(*) FILTER (WHERE bad), coalesce(sum(v * tms), 0)
  FROM (
    SELECT src.o, src.s, src.c, date_bin('1 hour', src.ts, timestamptz '2000-01-01 00:00:00+00') AS bucket, src.dims,
           CASE WHEN src.val ~ $2 THEN src.val::numeric END AS v,
           floor(extract(epoch FROM src.ts) * 1000) AS tms,
           (src.val IS NOT NULL AND src.val !~ $2) AS bad
    FROM ${from}
  ) x
  GROUP BY o, s, c, bucket, dims
  ORDER BY o, s, c, bucket, dims
  ON CONFLICT (organization_id, subscription_id, metric_code, bucket_start, dims) DO UPDATE SET
    events_count = r.events_count + EXCLUDED.events_count,
    sum = r.sum + EXCLUDED.sum,
    max = GREATEST(r.max, EXCLUDED.max),
    invalid_values_count = r.invalid_values_count + EXCLUDED.invalid_values_count,
    value_time_sum = r.value_time_sum + EXCLUDED.value_time_sum`;
}

const APPLY_SQL = `WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(o uuid, s uuid, c text, ts timestamptz, dims jsonb, val text))
${rollupUpsertFrom('src')}`;

/**
 * Add already inserted events to the rollups: ONE statement, for callers that insert events themselves inside
 * a transaction (call it in that transaction, with only the inserted rows). The ingest path uses
 * insertEventsWithRollups instead. Events of metrics that are not rolled up are skipped; an event whose metric
 * has no spec throws (rolling it up wrongly or not at all would undercount silently).
 */
export async function applyRollups(trx: Db, insertedEvents: RollupEventInput[], specs: RollupSpecLookup): Promise<number> {
  const records: unknown[] = [];
  for (const e of insertedEvents) {
    const spec = specs(e.organizationId, e.code);
    if (!spec) throw new Error(`applyRollups: no metric spec for ${e.organizationId}/${e.code}`);
    if (!isRolledUp(spec)) continue;
    const ts = typeof e.timestamp === 'string' ? e.timestamp : e.timestamp.toISOString();
    records.push({ o: e.organizationId, s: e.subscriptionId, c: e.code, ts, dims: dimsObject(e.properties, spec.dimKeys), val: valueText(e, spec) });
  }
  if (records.length === 0) return 0;
  await pgQuery(trx, 'meterline_apply_rollups_v3', APPLY_SQL, [JSON.stringify(records), NUMERIC_TEXT_RE]);
  return records.length;
}

// The whole ingest step of a group in ONE autocommit statement (no BEGIN / COMMIT round trips, no lock held
// across a round trip): `src` = the rows (one JSON parameter; dims and value text computed in JS, null dims
// for metrics that are not rolled up), `ins` inserts the events (ON CONFLICT DO NOTHING: duplicates are not
// RETURNed), `roll` upserts the rollups of exactly the rows `ins` returned (a duplicate never counts), in key
// order. Events and rollups commit atomically. `src` is referenced twice, so it is materialized (parsed once).
// Execution order inside the statement: every event insert (rows pre-sorted by (org, transaction id)) happens
// before the first rollup upsert (the rollup's GROUP BY / ORDER BY consume all of `ins` first), so concurrent
// statements wait on each other only in one global order: events, then rollup rows in key order.
const INGEST_SQL = `WITH src AS MATERIALIZED (SELECT x.*, ${EVENT_ID_COLUMN} FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}, dims jsonb, val text) WHERE ${EVENT_ID_XID_FIRST}),
${eventInsertCtes('src')},
roll AS (${rollupUpsertFrom('ins JOIN src ON src.o = ins.organization_id AND src.t = ins.transaction_id WHERE src.dims IS NOT NULL')})
SELECT organization_id, transaction_id, id, created_at FROM ins`;

/**
 * The ingest step of one group, ONE statement: INSERT events ... ON CONFLICT DO NOTHING RETURNING, and the
 * rollups of the returned rows only, committed together. Returns the inserted rows (duplicates are absent),
 * like insertEvents. A row repeated in `rows` is written once (the first occurrence). Every row's metric must
 * have a spec (else nothing is written and this throws).
 */
export async function insertEventsWithRollups(db: Db, rows: EventRow[], specs: RollupSpecLookup): Promise<InsertedEvent[]> {
  if (rows.length === 0) return [];
  const records: EventRecord[] = [];
  let prev: EventRow | null = null;
  for (const r of sortedForInsert(rows)) {
    if (prev && prev.organizationId === r.organizationId && prev.transactionId === r.transactionId) continue; // stable sort: first wins
    prev = r;
    const spec = specs(r.organizationId, r.code);
    if (!spec) throw new Error(`insertEventsWithRollups: no metric spec for ${r.organizationId}/${r.code}`);
    records.push(isRolledUp(spec) ? eventRecord(r, dimsObject(r.properties, spec.dimKeys), valueText(r, spec)) : eventRecord(r));
  }
  return insertedEvents(await pgQuery(db, 'meterline_ingest_v6', INGEST_SQL, [JSON.stringify(records), NUMERIC_TEXT_RE]));
}

// ---------------------------------------------------------------------------------------------------------
// Read side

interface PeriodSplit {
  /** Whole hours read from usage_rollups: [fromHour, toHour) (empty when fromHour >= toHour). */
  fromHour: Date;
  toHour: Date;
  /** Raw-event ranges (partial hours at the edges, or the whole period when it spans no whole hour). */
  rawRanges: { start: Date; end: Date }[];
}

export function splitPeriod(period: Period): PeriodSplit {
  const startMs = Date.parse(period.start);
  const endMs = Date.parse(period.end);
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs < startMs) {
    throw new BillingError('invalid_period', `Invalid period ${period.start}..${period.end}`, 'period');
  }
  const h0 = Math.ceil(startMs / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(endMs / HOUR_MS) * HOUR_MS;
  if (h1 <= h0) {
    return { fromHour: new Date(h0), toHour: new Date(h0), rawRanges: endMs > startMs ? [{ start: new Date(startMs), end: new Date(endMs) }] : [] };
  }
  const rawRanges: { start: Date; end: Date }[] = [];
  if (startMs < h0) rawRanges.push({ start: new Date(startMs), end: new Date(h0) });
  if (h1 < endMs) rawRanges.push({ start: new Date(h1), end: new Date(endMs) });
  return { fromHour: new Date(h0), toHour: new Date(h1), rawRanges };
}

/** Rollup totals of one (metric, dims) over whole hours (Postgres numeric as text). */
export interface RollupTotalsRow {
  metricCode: string;
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: string;
  max: string | null;
  invalidValuesCount: number;
}

/** Σ of the subscription's rollup rows of `codes` over whole hours [fromHour, toHour), per (metric, dims). */
export async function rollupTotalsOfHours(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  codes: string[],
  fromHour: Date,
  toHour: Date,
): Promise<RollupTotalsRow[]> {
  if (codes.length === 0 || fromHour >= toHour) return [];
  const r = (await db.raw(
    `SELECT metric_code, dims, sum(events_count)::bigint AS events_count, sum(sum)::text AS sum, max(max)::text AS max,
            sum(invalid_values_count)::bigint AS invalid
     FROM usage_rollups
     WHERE organization_id = ? AND subscription_id = ? AND metric_code = ANY(?::text[]) AND bucket_start >= ? AND bucket_start < ?
     GROUP BY metric_code, dims`,
    [organizationId, subscriptionId, codes, fromHour, toHour],
  )) as { rows: { metric_code: string; dims: Record<string, string | null>; events_count: string | number; sum: string; max: string | null; invalid: string | number }[] };
  return r.rows.map((x) => ({
    metricCode: x.metric_code,
    dims: x.dims,
    eventsCount: Number(x.events_count),
    sum: x.sum,
    max: x.max,
    invalidValuesCount: Number(x.invalid),
  }));
}

/** The subscription's raw events of `codes` in the given time ranges (the partial edge hours), in (timestamp, id) order. */
export async function eventsInRanges(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  codes: string[],
  ranges: { start: Date; end: Date }[],
): Promise<{ code: string; transactionId: string; properties: Record<string, EventPropertyValue> }[]> {
  if (codes.length === 0 || ranges.length === 0) return [];
  const rows = (await db('events')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('code', codes)
    .where((q) => {
      for (const r of ranges) q.orWhere((w) => w.where('timestamp', '>=', r.start).where('timestamp', '<', r.end));
    })
    .orderBy([{ column: 'timestamp' }, { column: 'id' }])
    .select('code', 'transaction_id', 'properties')) as { code: string; transaction_id: string; properties: Record<string, EventPropertyValue> | null }[];
  return rows.map((e) => ({ code: e.code, transactionId: e.transaction_id, properties: e.properties ?? {} }));
}
