// Usage imported from a previous billing system (table imported_usage), already billed there.
//
// GUARANTEE BY CONSTRUCTION: these rows are never written to `events`. Invoices (activities/invoices.ts via
// db/repositories/usage.ts), hourly rollups, current usage and usage thresholds all read `events` (and
// `usage_rollups`, maintained from `events` inserts) only, so nothing in this table can ever be billed by
// Meterline. Only usage history (db/repositories/past-usage.ts) reads it.
//
// Idempotent on (organization_id, transaction_id): a re-import of a transaction id is a duplicate (nothing
// written), and so is a transaction id Meterline already holds as a live event (it is already counted there).
import type { Knex } from 'knex';
import { eventByKeyJoin } from './events';

type Db = Knex | Knex.Transaction;

export interface ImportedUsageRow {
  organizationId: string;
  transactionId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  code: string;
  /** ISO UTC */
  timestamp: string;
  properties: Record<string, unknown>;
  /** The metric's numeric field value (decimal string), null when absent / not a numeric aggregation. */
  value: string | null;
  source: string;
  importBatch: string | null;
}

export interface InsertedImport {
  transactionId: string;
  id: string;
  importedAt: Date;
}

/** Insert in ONE statement; rows whose transaction id exists (here or in `events`) are skipped. */
export async function insertImportedUsage(db: Db, rows: ImportedUsageRow[]): Promise<InsertedImport[]> {
  if (rows.length === 0) return [];
  const result = await db.raw(
    `INSERT INTO imported_usage (organization_id, transaction_id, subscription_id, external_subscription_id, code, "timestamp",
                                 properties, value, source, import_batch)
     SELECT r.* FROM unnest(?::uuid[], ?::text[], ?::uuid[], ?::text[], ?::text[], ?::timestamptz[], ?::jsonb[], ?::numeric[], ?::text[], ?::text[])
       AS r(organization_id, transaction_id, subscription_id, external_subscription_id, code, ts, properties, value, source, import_batch)
     WHERE NOT EXISTS (SELECT 1 FROM event_transaction_ids k JOIN events e ON ${eventByKeyJoin('e', 'k')}
                       WHERE k.organization_id = r.organization_id AND k.transaction_id = r.transaction_id)
     ON CONFLICT ON CONSTRAINT imported_usage_transaction DO NOTHING
     RETURNING transaction_id, id::text AS id, imported_at`,
    [
      rows.map((r) => r.organizationId),
      rows.map((r) => r.transactionId),
      rows.map((r) => r.subscriptionId),
      rows.map((r) => r.externalSubscriptionId),
      rows.map((r) => r.code),
      rows.map((r) => r.timestamp),
      rows.map((r) => JSON.stringify(r.properties)),
      rows.map((r) => r.value) as string[],
      rows.map((r) => r.source),
      rows.map((r) => r.importBatch) as string[],
    ],
  );
  return (result.rows as Record<string, any>[]).map((r) => ({ transactionId: r.transaction_id, id: r.id, importedAt: r.imported_at }));
}

/** Which of these transaction ids are live events already (reported as duplicates of an event). */
export async function existingEventTransactionIds(db: Db, organizationId: string, transactionIds: string[]): Promise<Set<string>> {
  if (transactionIds.length === 0) return new Set();
  const rows: { transaction_id: string }[] = await db('event_transaction_ids as k')
    .join('events as e', db.raw(eventByKeyJoin('e', 'k')))
    .where('k.organization_id', organizationId)
    .whereIn('k.transaction_id', [...new Set(transactionIds)])
    .select('k.transaction_id');
  return new Set(rows.map((r) => r.transaction_id));
}
