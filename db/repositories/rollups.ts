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
//   Only count_agg / sum_agg / max_agg metrics are rolled up (the other aggregations read raw events).
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
// READ SIDE — rollupUsage(db, org, subscription, charges, period) → billing ChargeUsage[] (same buckets as
//   billing/aggregateCharge over the raw events, modulo bucket order inside one filter slot, which is sorted
//   by group values here instead of first-event time):
//   - rollup rows of the whole hours inside the period + raw events of the partial edge hours (a period
//     starting at a subscription instant or a non-whole-hour timezone offset), merged per projected dims;
//   - filter matching and pricing groups in JS over the (few) distinct dims rows with billing/aggregation's
//     own matchFilter / bucketProperties / pricingGroupKeys;
//   - RAW FALLBACK (db/repositories/usage.ts loadPeriodEvents + billing aggregateCharge) for every charge that
//     billing/aggregation usageReadableFromTotals refuses (unique_count, latest and weighted_sum metrics; charge
//     models that say they need per-event values: dynamic, percentage with per-event properties); and any metric whose
//     rollup rows in the period lack a dimension key the charges need (a charge created after those events
//     were rolled up) or contain non-numeric values.
//   Decimal arithmetic uses billing/money's D (the project's single Decimal constructor); results leave as
//   decimal strings.
import type { Knex } from 'knex';
import {
  aggregateCharge,
  aggregatesFromTotals,
  bucketProperties,
  matchFilter,
  numericEventValue,
  pricingGroupKeys,
  usageReadableFromTotals,
  type ChargeUsage,
  type UsageBucket,
} from '../../billing/aggregation';
import { BillingError } from '../../billing/errors';
import { D, str, type Dec } from '../../billing/money';
import type { AggregationType, Charge, ChargeProperties, EventPropertyValue, Period } from '../../billing/types';
import { TtlCache } from '../../cache/ttl-cache';
import { EVENT_RECORD_COLUMNS, eventRecord, insertedEvents, insertEventsFrom, pgQuery, sortedForInsert, type EventRecord, type EventRow, type InsertedEvent } from './events';
import { loadPeriodEvents, NUMERIC_TEXT_RE } from './usage';

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

export function isRolledUp(spec: RollupMetricSpec): boolean {
  return aggregatesFromTotals(spec.aggregationType);
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
function rollupUpsertFrom(from: string): string {
  return `INSERT INTO usage_rollups AS r
    (organization_id, subscription_id, metric_code, bucket_start, dims, events_count, sum, max, invalid_values_count)
  SELECT o, s, c, bucket, dims, count(*), coalesce(sum(v), 0), max(v), count(*) FILTER (WHERE bad)
  FROM (
    SELECT src.o, src.s, src.c, date_bin('1 hour', src.ts, timestamptz '2000-01-01 00:00:00+00') AS bucket, src.dims,
           CASE WHEN src.val ~ $2 THEN src.val::numeric END AS v,
           (src.val IS NOT NULL AND src.val !~ $2) AS bad
    FROM ${from}
  ) x
  GROUP BY o, s, c, bucket, dims
  ORDER BY o, s, c, bucket, dims
  ON CONFLICT (organization_id, subscription_id, metric_code, bucket_start, dims) DO UPDATE SET
    events_count = r.events_count + EXCLUDED.events_count,
    sum = r.sum + EXCLUDED.sum,
    max = GREATEST(r.max, EXCLUDED.max),
    invalid_values_count = r.invalid_values_count + EXCLUDED.invalid_values_count`;
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
  await pgQuery(trx, 'meterline_apply_rollups_v2', APPLY_SQL, [JSON.stringify(records), NUMERIC_TEXT_RE]);
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
const INGEST_SQL = `WITH src AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}, dims jsonb, val text)),
ins AS (${insertEventsFrom('src')}),
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
  return insertedEvents(await pgQuery(db, 'meterline_ingest_v2', INGEST_SQL, [JSON.stringify(records), NUMERIC_TEXT_RE]));
}

// ---------------------------------------------------------------------------------------------------------
// Read side

/** Dimension keys a charge reads: its filters' keys and the pricing group keys of every filter slot. */
function chargeDimKeys(charge: Charge): string[] {
  const keys = new Set<string>(pricingGroupKeys(charge.properties));
  for (const f of charge.filters) {
    for (const k of Object.keys(f.values)) keys.add(k);
    for (const k of pricingGroupKeys(f.properties)) keys.add(k);
  }
  return [...keys];
}

interface DimsAcc {
  dims: Record<string, string | null>;
  eventsCount: number;
  sum: Dec;
  max: Dec | null;
}

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

interface RollupRow {
  metric_code: string;
  dims: Record<string, string | null>;
  events_count: number;
  sum: string;
  max: string | null;
  invalid: number;
}

/**
 * Per metric code, the period's usage per projected dims (only `keysByCode[code]`), or 'raw' when the rollups
 * cannot answer for that metric (missing dimension key, non-numeric values).
 */
async function rolledUpDims(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metrics: Map<string, { keys: string[]; aggregationType: AggregationType; fieldName: string | null }>,
  period: Period,
): Promise<Map<string, Map<string, DimsAcc> | 'raw'>> {
  const codes = [...metrics.keys()];
  const split = splitPeriod(period);
  const out = new Map<string, Map<string, DimsAcc> | 'raw'>();
  for (const c of codes) out.set(c, new Map());

  const project = (code: string, source: Record<string, unknown>, fromRollup: boolean): { key: string; dims: Record<string, string | null> } | null => {
    const keys = metrics.get(code)!.keys;
    const dims: Record<string, string | null> = {};
    for (const k of keys) {
      if (fromRollup) {
        if (!(k in source)) return null;
        dims[k] = (source[k] as string | null) ?? null;
      } else dims[k] = propString(source[k]);
    }
    return { key: JSON.stringify(keys.map((k) => dims[k])), dims };
  };
  const accOf = (code: string, p: { key: string; dims: Record<string, string | null> }): DimsAcc | null => {
    const m = out.get(code)!;
    if (m === 'raw') return null;
    let a = m.get(p.key);
    if (!a) m.set(p.key, (a = { dims: p.dims, eventsCount: 0, sum: new D(0), max: null }));
    return a;
  };

  const rollupQuery =
    split.fromHour < split.toHour
      ? (db.raw(
          `SELECT metric_code, dims, sum(events_count)::bigint AS events_count, sum(sum)::text AS sum, max(max)::text AS max,
                  sum(invalid_values_count)::bigint AS invalid
           FROM usage_rollups
           WHERE organization_id = ? AND subscription_id = ? AND metric_code = ANY(?::text[]) AND bucket_start >= ? AND bucket_start < ?
           GROUP BY metric_code, dims`,
          [organizationId, subscriptionId, codes, split.fromHour, split.toHour],
        ) as unknown as Promise<{ rows: RollupRow[] }>)
      : Promise.resolve({ rows: [] as RollupRow[] });
  const edgeQuery =
    split.rawRanges.length > 0
      ? (db('events')
          .where({ organization_id: organizationId, subscription_id: subscriptionId })
          .whereIn('code', codes)
          .where((q) => {
            for (const r of split.rawRanges) q.orWhere((w) => w.where('timestamp', '>=', r.start).where('timestamp', '<', r.end));
          })
          .orderBy([{ column: 'timestamp' }, { column: 'id' }])
          .select('code', 'transaction_id', 'properties') as Promise<{ code: string; transaction_id: string; properties: Record<string, EventPropertyValue> }[]>)
      : Promise.resolve([]);
  const [rollups, edges] = await Promise.all([rollupQuery, edgeQuery]);

  for (const r of rollups.rows) {
    if (out.get(r.metric_code) === 'raw') continue;
    const m = metrics.get(r.metric_code)!;
    const p = project(r.metric_code, r.dims, true);
    if (!p || (Number(r.invalid) > 0 && m.aggregationType !== 'count_agg')) {
      out.set(r.metric_code, 'raw');
      continue;
    }
    const a = accOf(r.metric_code, p)!;
    a.eventsCount += Number(r.events_count);
    a.sum = a.sum.plus(r.sum);
    if (r.max !== null) a.max = a.max === null ? new D(r.max) : D.max(a.max, r.max);
  }
  for (const e of edges) {
    if (out.get(e.code) === 'raw') continue;
    const m = metrics.get(e.code)!;
    const props = e.properties ?? {};
    const a = accOf(e.code, project(e.code, props, false)!)!;
    a.eventsCount += 1;
    if (m.aggregationType === 'count_agg') continue;
    if (!m.fieldName) throw new BillingError('missing_field_name', `Metric ${e.code} (${m.aggregationType}) needs a field_name`, 'field_name');
    const raw = props[m.fieldName];
    if (raw === undefined || raw === null) continue;
    const v = numericEventValue(raw, m.fieldName, e.transaction_id);
    a.sum = a.sum.plus(v);
    a.max = a.max === null ? v : D.max(a.max, v);
  }
  return out;
}

function bucketsFromDims(charge: Charge, rows: Iterable<DimsAcc>): ChargeUsage {
  const agg = charge.billableMetric.aggregationType;
  const accs = new Map<string, { filterIndex: number | null; groupedBy: Record<string, string>; eventsCount: number; sum: Dec; max: Dec | null }>();
  for (const r of rows) {
    if (r.eventsCount === 0) continue;
    const filterIndex = charge.filters.length > 0 ? matchFilter(charge, r.dims) : null;
    const keys = pricingGroupKeys(bucketProperties(charge, filterIndex));
    const groupedBy: Record<string, string> = {};
    for (const k of keys) groupedBy[k] = r.dims[k] ?? '';
    const id = JSON.stringify([filterIndex, keys.map((k) => groupedBy[k])]);
    let a = accs.get(id);
    if (!a) accs.set(id, (a = { filterIndex, groupedBy, eventsCount: 0, sum: new D(0), max: null }));
    a.eventsCount += r.eventsCount;
    a.sum = a.sum.plus(r.sum);
    if (r.max !== null) a.max = a.max === null ? r.max : D.max(a.max, r.max);
  }
  const slotOrder = (f: number | null) => (f === null ? charge.filters.length : f);
  const ordered = [...accs.entries()].sort(
    ([ka, a], [kb, b]) => slotOrder(a.filterIndex) - slotOrder(b.filterIndex) || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
  const buckets: UsageBucket[] = [];
  const slots: (number | null)[] = [...charge.filters.map((_, i) => i), null];
  for (const slot of slots) {
    const inSlot = ordered.filter(([, a]) => a.filterIndex === slot);
    if (inSlot.length === 0) {
      buckets.push({ filterIndex: slot, groupedBy: {}, units: '0', eventsCount: 0 });
      continue;
    }
    for (const [, a] of inSlot) {
      const units = agg === 'count_agg' ? new D(a.eventsCount) : agg === 'sum_agg' ? a.sum : (a.max ?? new D(0));
      buckets.push({ filterIndex: a.filterIndex, groupedBy: a.groupedBy, units: str(units), eventsCount: a.eventsCount });
    }
  }
  return { chargeId: charge.id, buckets };
}

/**
 * Usage of `charges` over [period.start, period.end) for one subscription, from rollups where they suffice
 * and from raw events otherwise (see the header). One ChargeUsage per charge, in input order.
 */
export async function rollupUsage(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  charges: Charge[],
  period: Period,
): Promise<ChargeUsage[]> {
  const metrics = new Map<string, { keys: Set<string>; aggregationType: AggregationType; fieldName: string | null }>();
  for (const c of charges) {
    if (!usageReadableFromTotals(c)) continue;
    const m = c.billableMetric;
    let e = metrics.get(m.code);
    if (!e) metrics.set(m.code, (e = { keys: new Set(), aggregationType: m.aggregationType, fieldName: m.fieldName }));
    for (const k of chargeDimKeys(c)) e.keys.add(k);
  }
  const specs = new Map([...metrics].map(([code, e]) => [code, { ...e, keys: [...e.keys].sort() }]));
  const dims = specs.size > 0 ? await rolledUpDims(db, organizationId, subscriptionId, specs, period) : new Map<string, 'raw'>();

  const rawCodes = new Set<string>();
  for (const c of charges) {
    const d = dims.get(c.billableMetric.code);
    if (!usageReadableFromTotals(c) || d === 'raw' || d === undefined) rawCodes.add(c.billableMetric.code);
  }
  const events = rawCodes.size > 0 ? await loadPeriodEvents(db, organizationId, subscriptionId, [...rawCodes], period) : {};

  return charges.map((c) => {
    const d = dims.get(c.billableMetric.code);
    if (usageReadableFromTotals(c) && d !== undefined && d !== 'raw') return bucketsFromDims(c, d.values());
    return aggregateCharge(c, events[c.billableMetric.code] ?? [], period);
  });
}
