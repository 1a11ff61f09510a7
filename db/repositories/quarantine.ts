// Quarantine of stored events billing cannot use (see migration 20261201000200_quarantined_events).
//
// - findUnusableEvents: the subscription's events whose aggregated value or precise_total_amount is not a plain
//   bounded decimal (a cheap SQL pre-filter), confirmed one by one by the pure billing/input-limits check.
// - quarantineEvents: in ONE transaction, copies each row into quarantined_events, deletes it from events,
//   rebuilds the usage_rollups buckets (subscription, metric, hour) it contributed to from the remaining events,
//   and records an `event_quarantined` event error for it. Idempotent (a row already moved is skipped).
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import { ERROR_CODES } from '../../billing/error-codes';
import { unusableEventReason } from '../../billing/input-limits';
import { recordEventErrors } from './event-errors';
import { applyRollups, loadRollupMetricSpecs } from './rollups';
import { recordRollupRewrite } from './rollup-feed';

type Db = Knex | Knex.Transaction;

export const EVENT_QUARANTINED = ERROR_CODES.event_quarantined;

export interface UnusableEvent {
  eventId: string;
  organizationId: string;
  subscriptionId: string;
  transactionId: string;
  externalSubscriptionId: string;
  code: string;
  timestamp: Date;
  properties: Record<string, unknown>;
  /** Where the unusable value is (`properties.<field>` or `precise_total_amount_cents`). */
  field: string;
  /** Which limit it breaks (billing/input-limits DecimalLimitViolation). */
  reasonCode: string;
}

// Plain decimals inside the limits; anything else is a candidate the pure check decides on.
const PLAIN_BOUNDED = '^-?[0-9]{1,15}(\\.[0-9]{1,15})?$';

export async function findUnusableEvents(db: Db, organizationId: string, subscriptionId: string): Promise<UnusableEvent[]> {
  const rows: Record<string, any>[] = await db('events as e')
    .join('billable_metrics as m', function joinMetric() {
      this.on('m.organization_id', '=', 'e.organization_id').andOn('m.code', '=', 'e.code');
    })
    .where('e.organization_id', organizationId)
    .where('e.subscription_id', subscriptionId)
    .where((q) => {
      q.where((v) => {
        v.whereIn('m.aggregation_type', ['sum_agg', 'max_agg', 'weighted_sum_agg', 'latest_agg'])
          .whereNotNull('m.field_name')
          .whereRaw("jsonb_typeof(e.properties -> m.field_name) IS NOT NULL AND jsonb_typeof(e.properties -> m.field_name) <> 'null'")
          .whereRaw('NOT ((e.properties ->> m.field_name) ~ ?)', [PLAIN_BOUNDED]);
      }).orWhereRaw('abs(e.precise_total_amount) >= 1e15');
    })
    .select(
      'e.id', 'e.transaction_id', 'e.external_subscription_id', 'e.code', 'e.timestamp', 'e.properties', 'm.aggregation_type', 'm.field_name',
      db.raw('e.precise_total_amount::text AS precise_total_amount'),
    )
    .orderBy('e.id');
  const out: UnusableEvent[] = [];
  for (const r of rows) {
    const reason = unusableEventReason({
      aggregationType: r.aggregation_type,
      fieldName: r.field_name,
      properties: r.properties ?? {},
      preciseTotalAmount: r.precise_total_amount,
    });
    if (!reason) continue;
    out.push({
      eventId: String(r.id),
      organizationId,
      subscriptionId,
      transactionId: r.transaction_id,
      externalSubscriptionId: r.external_subscription_id,
      code: r.code,
      timestamp: r.timestamp,
      properties: r.properties ?? {},
      field: reason.field,
      reasonCode: reason.code,
    });
  }
  return out;
}

/** Moves the events out of `events` (see the header); returns those this call moved. */
export async function quarantineEvents(db: Knex, events: UnusableEvent[]): Promise<UnusableEvent[]> {
  if (events.length === 0) return [];
  return db.transaction(async (trx) => {
    const moved: UnusableEvent[] = [];
    for (const e of events) {
      const inserted = await trx.raw(
        `INSERT INTO quarantined_events (organization_id, event_id, transaction_id, external_subscription_id, subscription_id, code,
                                         "timestamp", properties, precise_total_amount, event_created_at, reason_code, field, event_lago_id)
         SELECT organization_id, id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties,
                precise_total_amount, created_at, ?, ?, lago_id
         FROM events WHERE organization_id = ? AND id = ?
         ON CONFLICT ON CONSTRAINT quarantined_events_event DO NOTHING
         RETURNING id`,
        [e.reasonCode, e.field, e.organizationId, e.eventId],
      );
      const deleted = await trx('events').where({ organization_id: e.organizationId, id: e.eventId }).delete();
      // The transaction id is free again once its event is moved out (partitioned events: the key lives apart).
      if (deleted > 0) await trx('event_transaction_ids').where({ organization_id: e.organizationId, transaction_id: e.transactionId }).delete();
      if ((inserted.rows as unknown[]).length > 0) moved.push(e);
    }
    await rebuildRollupBuckets(trx, moved);
    await recordEventErrors(
      trx,
      moved.map((e) => ({
        organizationId: e.organizationId,
        transactionId: e.transactionId,
        externalSubscriptionId: e.externalSubscriptionId,
        code: e.code,
        timestamp: e.timestamp.toISOString(),
        properties: e.properties,
        errorCode: EVENT_QUARANTINED,
        field: e.field,
        requestId: null,
        raw: null,
      })),
    );
    return moved;
  });
}

/** Recomputes the rollup rows of the (subscription, metric, hour) buckets the moved events were counted in. */
async function rebuildRollupBuckets(trx: Knex.Transaction, moved: UnusableEvent[]): Promise<void> {
  if (moved.length === 0) return;
  const organizationId = moved[0]!.organizationId;
  const specs = await loadRollupMetricSpecs(trx, organizationId);
  const seen = new Set<string>();
  for (const e of moved) {
    const hour = new Date(Math.floor(e.timestamp.getTime() / 3_600_000) * 3_600_000);
    const key = `${e.subscriptionId}|${e.code}|${hour.toISOString()}`;
    if (seen.has(key)) continue;
    if (![...seen].some((k) => k.startsWith(`${e.subscriptionId}|`))) await recordRollupRewrite(trx, organizationId, e.subscriptionId); // usage/closed-hours-cache.ts
    seen.add(key);
    await trx('usage_rollups')
      .where({ organization_id: organizationId, subscription_id: e.subscriptionId, metric_code: e.code, bucket_start: hour })
      .delete();
    const rest: Record<string, any>[] = await trx('events')
      .where({ organization_id: organizationId, subscription_id: e.subscriptionId, code: e.code })
      .where('timestamp', '>=', hour)
      .where('timestamp', '<', new Date(hour.getTime() + 3_600_000))
      .select('subscription_id', 'code', 'timestamp', 'properties');
    await applyRollups(
      trx,
      rest.map((r) => ({ organizationId, subscriptionId: r.subscription_id, code: r.code, timestamp: r.timestamp, properties: r.properties ?? {} })),
      (_org, code) => specs.get(code),
    );
  }
}

export interface QuarantinedEventRecord {
  id: string;
  eventId: string;
  /** The event's lago_id as the API showed it. */
  eventLagoId: string | null;
  transactionId: string;
  externalSubscriptionId: string;
  subscriptionId: string | null;
  code: string;
  timestamp: Date;
  properties: Record<string, unknown>;
  preciseTotalAmount: string | null;
  reasonCode: string;
  field: string;
  quarantinedAt: Date;
}

/** One page of the organization's quarantined events, newest first, with the total count. */
export async function listQuarantinedEvents(
  db: Db,
  organizationId: string,
  page: number,
  perPage: number,
): Promise<{ rows: QuarantinedEventRecord[]; totalCount: number }> {
  const base = db('quarantined_events').where({ organization_id: organizationId });
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows: Record<string, any>[] = await base
    .clone()
    .select('*', db.raw('precise_total_amount::text AS precise_total_amount_text'))
    .orderBy([{ column: 'quarantined_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return {
    totalCount: Number(count),
    rows: rows.map((r) => ({
      id: String(r.id),
      eventId: String(r.event_id),
      eventLagoId: r.event_lago_id ?? null,
      transactionId: r.transaction_id,
      externalSubscriptionId: r.external_subscription_id,
      subscriptionId: r.subscription_id ?? null,
      code: r.code,
      timestamp: r.timestamp,
      properties: r.properties ?? {},
      preciseTotalAmount: r.precise_total_amount_text ?? null,
      reasonCode: r.reason_code,
      field: r.field,
      quarantinedAt: r.quarantined_at,
    })),
  };
}

/** The subscription an invoice belongs to (null when unknown), for the quarantine hook of invoice activities. */
export async function subscriptionIdOfInvoice(db: Db, organizationId: string, invoiceId: string): Promise<string | null> {
  const row = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).first('subscription_id');
  return row ? (row.subscription_id as string) : null;
}

// ---------------------------------------------------------------------------------------------------------
// The poison-row hook of every rating of stored usage (period close, refresh, finalize; current usage): run the
// rating; if it fails because a stored value is unusable (amount_out_of_range / invalid_event_value /
// invalid_decimal from billing/, or Postgres 22003 numeric overflow), quarantine the subscription's unusable
// events and rate again. A period therefore always closes on the events billing can use; each quarantined row
// is reported (event_errors `event_quarantined`, a `warn` log line, GET /events/quarantined). When nothing could
// be quarantined the original error stands (not a row problem, e.g. one line beyond 2^53 cents): nothing is
// hidden. The normal path costs nothing extra.

const POISON_CODES = new Set(['amount_out_of_range', 'invalid_event_value', 'invalid_decimal']);
const PG_NUMERIC_OVERFLOW = '22003';

export type QuarantineWarn = (msg: string, meta: Record<string, unknown>) => void;

const consoleWarn: QuarantineWarn = (msg, meta) => console.warn(JSON.stringify({ level: 'warn', msg, ...meta }));

/** True for the failures a single unusable stored row can cause. */
export function isPoisonFailure(err: unknown): boolean {
  if (err instanceof BillingError) return POISON_CODES.has(err.code);
  return (err as { code?: unknown } | null)?.code === PG_NUMERIC_OVERFLOW;
}

/** Quarantines what billing cannot use in the subscription's stored events; returns the moved rows. */
export async function quarantineUnusableEvents(
  db: Knex,
  organizationId: string,
  subscriptionId: string,
  warn: QuarantineWarn = consoleWarn,
): Promise<UnusableEvent[]> {
  const moved = await quarantineEvents(db, await findUnusableEvents(db, organizationId, subscriptionId));
  for (const e of moved) {
    warn('event quarantined', {
      organizationId, subscriptionId, transactionId: e.transactionId, code: e.code, field: e.field, reason: e.reasonCode,
    });
  }
  return moved;
}

/** Runs `rate`; on a poison failure quarantines the unusable rows once and runs it again (see the header). */
export async function withPoisonQuarantine<T>(
  db: Knex,
  organizationId: string,
  subscriptionId: string,
  rate: () => Promise<T>,
  warn?: QuarantineWarn,
): Promise<T> {
  try {
    return await rate();
  } catch (err) {
    if (!isPoisonFailure(err)) throw err;
    const moved = await quarantineUnusableEvents(db, organizationId, subscriptionId, warn);
    if (moved.length === 0) throw err;
    return rate();
  }
}

/** withPoisonQuarantine for activities that start from an invoice (refresh, finalize). */
export async function withPoisonQuarantineOfInvoice<T>(
  db: Knex,
  organizationId: string,
  invoiceId: string,
  rate: () => Promise<T>,
  warn?: QuarantineWarn,
): Promise<T> {
  try {
    return await rate();
  } catch (err) {
    if (!isPoisonFailure(err)) throw err;
    const subscriptionId = await subscriptionIdOfInvoice(db, organizationId, invoiceId);
    if (subscriptionId === null) throw err;
    const moved = await quarantineUnusableEvents(db, organizationId, subscriptionId, warn);
    if (moved.length === 0) throw err;
    return rate();
  }
}
