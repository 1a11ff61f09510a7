// Raw usage events. One multi-row INSERT per group (unnest arrays: 8 parameters whatever the row count),
// idempotent on (organization_id, transaction_id).
import type { Knex } from 'knex';

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
 * Insert rows in ONE statement; rows whose (organization_id, transaction_id) already exists are skipped.
 * Returns only the rows this statement inserted.
 */
export async function insertEvents(db: Knex | Knex.Transaction, rows: EventRow[]): Promise<InsertedEvent[]> {
  if (rows.length === 0) return [];
  const result = await db.raw(
    `INSERT INTO events (organization_id, transaction_id, external_subscription_id, subscription_id, code, "timestamp", properties, precise_total_amount)
     SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::uuid[], ?::text[], ?::timestamptz[], ?::jsonb[], ?::numeric[])
     ON CONFLICT (organization_id, transaction_id) DO NOTHING
     RETURNING organization_id, transaction_id, id, created_at`,
    [
      rows.map((r) => r.organizationId),
      rows.map((r) => r.transactionId),
      rows.map((r) => r.externalSubscriptionId),
      rows.map((r) => r.subscriptionId),
      rows.map((r) => r.code),
      rows.map((r) => r.timestamp),
      rows.map((r) => JSON.stringify(r.properties)),
      rows.map((r) => r.preciseTotalAmount) as string[],
    ],
  );
  return (result.rows as Record<string, any>[]).map((r) => ({
    organizationId: r.organization_id,
    transactionId: r.transaction_id,
    id: String(r.id),
    createdAt: r.created_at,
  }));
}

export async function countEvents(db: Knex, organizationId: string, externalSubscriptionId?: string): Promise<number> {
  const q = db('events').where({ organization_id: organizationId });
  if (externalSubscriptionId !== undefined) q.andWhere({ external_subscription_id: externalSubscriptionId });
  const [{ count }] = await q.count<{ count: string }[]>('* as count');
  return Number(count);
}
