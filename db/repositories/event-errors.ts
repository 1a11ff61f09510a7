// Rejected events (table event_errors): what a client sent that the API refused for its content, kept as
// received. Idempotent on (organization_id, dedupe_key, error_code, field): a retry of the same bad event bumps
// `occurrences` and `last_received_at` instead of adding a row. One statement per request (unnest arrays).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { eventByKeyJoin } from './events';
import { enqueueEventErrorWebhooks, type EventErrorRow } from './webhook-events';

type Db = Knex | Knex.Transaction;

export interface NewEventError {
  organizationId: string;
  /** As received when it is a usable id (a non-empty string of at most 255 chars), else null. */
  transactionId: string | null;
  externalSubscriptionId: string | null;
  code: string | null;
  /** The timestamp exactly as received (a JSON number as its text), null when absent. */
  timestamp: string | null;
  /** The properties as received (any JSON), null when absent. */
  properties: unknown;
  errorCode: string;
  field: string;
  requestId: string | null;
  /** The raw event, used for the dedupe key when transactionId is null. */
  raw: unknown;
}

export interface EventErrorRecord {
  id: string;
  organizationId: string;
  transactionId: string | null;
  externalSubscriptionId: string | null;
  code: string | null;
  timestamp: string | null;
  properties: unknown;
  errorCode: string;
  field: string;
  requestId: string | null;
  receivedAt: Date;
  lastReceivedAt: Date;
  occurrences: number;
  /** True when an event with this transaction_id has since been stored (the client fixed and resent it). */
  resolved: boolean;
}

/** The transaction id, or a digest of the raw event when it has none (same bytes → same key). */
export function dedupeKey(transactionId: string | null, raw: unknown): string {
  if (transactionId !== null) return transactionId;
  return `sha256:${crypto.createHash('sha256').update(JSON.stringify(raw) ?? 'undefined').digest('hex')}`;
}

/** Record rejected events (one row per event × error code × field); returns how many rows were new. */
export async function recordEventErrors(db: Db, rows: NewEventError[]): Promise<number> {
  if (rows.length === 0) return 0;
  // Two errors of one request with the same key would make ON CONFLICT touch a row twice: keep the first.
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const k = JSON.stringify([r.organizationId, dedupeKey(r.transactionId, r.raw), r.errorCode, r.field]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  // event.error webhooks for the new rows commit with them (the outbox pattern).
  const result = await db.transaction(async (trx) => { const r = await trx.raw(
    `INSERT INTO event_errors AS ee (organization_id, transaction_id, dedupe_key, external_subscription_id, code, "timestamp",
                                     properties, error_code, field, request_id)
     SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::jsonb[], ?::text[], ?::text[], ?::text[])
     ON CONFLICT ON CONSTRAINT event_errors_dedupe
     DO UPDATE SET occurrences = ee.occurrences + 1, last_received_at = now()
     RETURNING (xmax = 0) AS inserted, ee.*`,
    [
      unique.map((r) => r.organizationId),
      unique.map((r) => r.transactionId) as string[],
      unique.map((r) => dedupeKey(r.transactionId, r.raw)),
      unique.map((r) => r.externalSubscriptionId) as string[],
      unique.map((r) => r.code) as string[],
      unique.map((r) => r.timestamp) as string[],
      unique.map((r) => (r.properties === undefined || r.properties === null ? null : JSON.stringify(r.properties))) as string[],
      unique.map((r) => r.errorCode),
      unique.map((r) => r.field),
      unique.map((r) => r.requestId) as string[],
    ],
  );
  await enqueueEventErrorWebhooks(trx, (r.rows as (EventErrorRow & { inserted: boolean })[]).filter((row) => row.inserted)); return r; });
  return (result.rows as { inserted: boolean }[]).filter((r) => r.inserted).length;
}

function toRecord(r: Record<string, any>): EventErrorRecord {
  return {
    id: String(r.id),
    organizationId: r.organization_id,
    transactionId: r.transaction_id ?? null,
    externalSubscriptionId: r.external_subscription_id ?? null,
    code: r.code ?? null,
    timestamp: r.timestamp ?? null,
    properties: r.properties ?? null,
    errorCode: r.error_code,
    field: r.field,
    requestId: r.request_id ?? null,
    receivedAt: r.received_at,
    lastReceivedAt: r.last_received_at,
    occurrences: Number(r.occurrences),
    resolved: Boolean(r.resolved),
  };
}

function withResolved(db: Db, q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q.select(
    'ee.*',
    db.raw(
      `exists (select 1 from event_transaction_ids k join events e on ${eventByKeyJoin('e', 'k')}
               where k.organization_id = ee.organization_id and k.transaction_id = ee.transaction_id) as resolved`,
    ),
  );
}

/** Every recorded error of one transaction id, oldest first. */
export async function listEventErrorsByTransaction(db: Db, organizationId: string, transactionId: string): Promise<EventErrorRecord[]> {
  const rows = await withResolved(
    db,
    db('event_errors as ee').where({ 'ee.organization_id': organizationId, 'ee.transaction_id': transactionId }).orderBy('ee.id'),
  );
  return rows.map(toRecord);
}

export interface EventErrorFilter {
  errorCode?: string;
  externalSubscriptionId?: string;
  transactionId?: string;
}

/** One page, newest first, and the total count under the same filter. */
export async function listEventErrorsPage(
  db: Db,
  organizationId: string,
  filter: EventErrorFilter,
  page: number,
  perPage: number,
): Promise<{ rows: EventErrorRecord[]; totalCount: number }> {
  const base = db('event_errors as ee').where('ee.organization_id', organizationId);
  if (filter.errorCode !== undefined) base.andWhere('ee.error_code', filter.errorCode);
  if (filter.externalSubscriptionId !== undefined) base.andWhere('ee.external_subscription_id', filter.externalSubscriptionId);
  if (filter.transactionId !== undefined) base.andWhere('ee.transaction_id', filter.transactionId);
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows = await withResolved(
    db,
    base
      .clone()
      .orderBy([{ column: 'ee.received_at', order: 'desc' }, { column: 'ee.id', order: 'desc' }])
      .limit(perPage)
      .offset((page - 1) * perPage),
  );
  return { rows: rows.map(toRecord), totalCount: Number(count) };
}

/** A stored event as GET /events/:transaction_id shows it (with the subscription's customer). */
export interface StoredEvent {
  id: string;
  transactionId: string;
  externalSubscriptionId: string;
  subscriptionId: string | null;
  customerId: string | null;
  code: string;
  timestamp: Date;
  properties: Record<string, unknown>;
  /** Decimal string or null. */
  preciseTotalAmount: string | null;
  createdAt: Date;
}

// Read here rather than in db/repositories/events.ts, whose write path is being rewritten; it is a plain
// read of the events table by its unique key (organization_id, transaction_id) and can move there later.
export async function findStoredEvent(db: Db, organizationId: string, transactionId: string): Promise<StoredEvent | null> {
  const r = await db('event_transaction_ids as k')
    .join('events as e', db.raw(eventByKeyJoin('e', 'k')))
    .leftJoin('subscriptions as s', 's.id', 'e.subscription_id')
    .where({ 'k.organization_id': organizationId, 'k.transaction_id': transactionId })
    .first(
      'e.lago_id', 'e.transaction_id', 'e.external_subscription_id', 'e.subscription_id', 's.customer_id', 'e.code', 'e.timestamp',
      'e.properties', db.raw('e.precise_total_amount::text as precise_total_amount'), 'e.created_at',
    );
  if (!r) return null;
  return {
    id: String(r.lago_id),
    transactionId: r.transaction_id,
    externalSubscriptionId: r.external_subscription_id,
    subscriptionId: r.subscription_id ?? null,
    customerId: r.customer_id ?? null,
    code: r.code,
    timestamp: r.timestamp,
    properties: r.properties ?? {},
    preciseTotalAmount: r.precise_total_amount === null ? null : canonicalDecimal(r.precise_total_amount),
    createdAt: r.created_at,
  };
}
