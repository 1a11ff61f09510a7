// Raw usage events, idempotent on (organization_id, transaction_id). The write path is ONE autocommit
// statement per group: the rows travel as ONE JSON text parameter, expanded in SQL by jsonb_to_recordset
// (whatever the row count), sent through the pg connection directly (no knex array encoding), as a named
// prepared statement (parsed and planned once per connection).
import type { Knex } from 'knex';
import pg from 'pg';

export interface EventRow {
  organizationId: string;
  transactionId: string;
  externalSubscriptionId: string;
  subscriptionId: string;
  code: string;
  /** ISO-8601 UTC */
  timestamp: string;
  properties: Record<string, unknown>;
  /** decimal string or null */
  preciseTotalAmount: string | null;
}

export interface InsertedEvent {
  organizationId: string;
  transactionId: string;
  id: string;
  createdAt: Date;
}

/**
 * The JSON record of one event row for EVENT_RECORD_COLUMNS, plus the rollup columns (dims, value text; null
 * when the event is not rolled up). Decimals stay strings (jsonb_to_recordset casts the JSON string to
 * numeric: no float on the way). Built as one literal (one hidden class; a spread costs ~2x the stringify).
 */
export interface EventRecord {
  o: string;
  t: string;
  e: string;
  s: string;
  c: string;
  ts: string;
  p: Record<string, unknown>;
  a: string | null;
  dims: Record<string, string | null> | null;
  val: string | null;
}

export function eventRecord(r: EventRow, dims: Record<string, string | null> | null = null, val: string | null = null): EventRecord {
  return { o: r.organizationId, t: r.transactionId, e: r.externalSubscriptionId, s: r.subscriptionId, c: r.code, ts: r.timestamp, p: r.properties, a: r.preciseTotalAmount, dims, val };
}

/** Column definition list of jsonb_to_recordset for EventRecord. */
export const EVENT_RECORD_COLUMNS = 'o uuid, t text, e text, s uuid, c text, ts timestamptz, p jsonb, a numeric';

/** INSERT of the events of CTE/relation `src` (EventRecord columns); RETURNING what callers need. */
export function insertEventsFrom(src: string): string {
  return `INSERT INTO events (organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
    SELECT o, t, e, s, c, ts, p, a FROM ${src}
    ON CONFLICT (organization_id, transaction_id) DO NOTHING
    RETURNING organization_id, transaction_id, id, created_at`;
}

/**
 * Rows in a fixed global order ((organization_id, transaction_id), code-unit order): concurrent statements
 * then take the events' unique-index entries in the same order, so two groups holding the same
 * transaction ids in different orders cannot deadlock on each other's uncommitted rows.
 */
export function sortedForInsert<T extends EventRow>(rows: T[]): T[] {
  return [...rows].sort((a, b) =>
    a.organizationId < b.organizationId ? -1 : a.organizationId > b.organizationId ? 1 : a.transactionId < b.transactionId ? -1 : a.transactionId > b.transactionId ? 1 : 0,
  );
}

// id (int8) and created_at (timestamptz) come back as text: no int8 → number → string round trip, and
// created_at (the statement's now(), the same for every row) is parsed once per distinct value.
const OID_INT8 = 20;
const OID_TIMESTAMPTZ = 1184;
const identity = (v: string) => v;
const QUERY_TYPES = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === OID_INT8 || oid === OID_TIMESTAMPTZ ? identity : pg.types.getTypeParser(oid, format ?? 'text'),
};
const parseTimestamptz = (text: string): Date => (pg.types.getTypeParser(OID_TIMESTAMPTZ, 'text') as (v: string) => Date)(text);

/**
 * Run one (named, so prepared once per connection) statement on a pool connection — or on the transaction's
 * connection when `db` is a transaction — through pg directly. Rows come back as arrays, int8 / timestamptz
 * as text.
 */
export async function pgQuery(db: Knex | Knex.Transaction, name: string, text: string, values: unknown[]): Promise<unknown[][]> {
  const client = db.client as Knex.Client;
  const conn = (await client.acquireConnection()) as pg.Client;
  try {
    const result = await conn.query<unknown[]>({ name, text, values, rowMode: 'array', types: QUERY_TYPES } as pg.QueryArrayConfig);
    return result.rows;
  } finally {
    await client.releaseConnection(conn);
  }
}

/** [organization_id, transaction_id, id, created_at] rows → InsertedEvent (created_at parsed once per value). */
export function insertedEvents(rows: unknown[][]): InsertedEvent[] {
  let lastText: string | null = null;
  let lastMs = 0;
  return rows.map((r) => {
    const text = r[3] as string;
    if (text !== lastText) {
      lastText = text;
      lastMs = parseTimestamptz(text).getTime();
    }
    return { organizationId: r[0] as string, transactionId: r[1] as string, id: r[2] as string, createdAt: new Date(lastMs) };
  });
}

const INSERT_EVENTS_SQL = `WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_RECORD_COLUMNS}))
${insertEventsFrom('src')}`;

/**
 * Insert rows in ONE statement; rows whose (organization_id, transaction_id) already exists are skipped.
 * Returns only the rows this statement inserted. `rows` must not repeat an (organization_id, transaction_id).
 */
export async function insertEvents(db: Knex | Knex.Transaction, rows: EventRow[]): Promise<InsertedEvent[]> {
  if (rows.length === 0) return [];
  const json = JSON.stringify(sortedForInsert(rows).map((r) => eventRecord(r)));
  return insertedEvents(await pgQuery(db, 'meterline_insert_events_v1', INSERT_EVENTS_SQL, [json]));
}

export async function countEvents(db: Knex, organizationId: string, externalSubscriptionId?: string): Promise<number> {
  const q = db('events').where({ organization_id: organizationId });
  if (externalSubscriptionId !== undefined) q.andWhere({ external_subscription_id: externalSubscriptionId });
  const [{ count }] = await q.count<{ count: string }[]>('* as count');
  return Number(count);
}
