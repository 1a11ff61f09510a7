// The events table's monthly partitions (migration 20261201001900): list them, create the months ahead, and
// drop those past the retention whose every event is invoiced. Used by activities/event-partitions.ts (the
// `event-partitions` Schedule).
//
// "Fully invoiced" (droppablePartition): every event of the partition that belongs to a subscription lies in the
// usage period [period_start, period_end) of a non-draft `subscription` or `termination` invoice of that
// subscription (the period-end invoice carries the ended period's usage; a start invoice's usage period is
// empty), or after the end of that subscription's non-draft termination invoice (never billed). Events
// without a subscription are never billed. One anti-join that stops at the first uncovered event: a partition
// that still holds an open period fails fast; one that passes is read once, on the day it becomes droppable.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface EventPartition {
  name: string;
  /** Inclusive lower bound (UTC month start); null for the default partition. */
  from: Date | null;
  /** Exclusive upper bound; null for the default partition. */
  to: Date | null;
}

const PARTITION_NAME_RE = /^events_p\d{6}$/;

/** Every partition of `events` with its bounds, monthly ones by start. */
export async function listEventPartitions(db: Db): Promise<EventPartition[]> {
  const r = (await db.raw(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'events'::regclass`,
  )) as { rows: { name: string; bound: string }[] };
  const out = r.rows.map((x): EventPartition => {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(x.bound);
    return { name: x.name, from: m ? new Date(m[1]!) : null, to: m ? new Date(m[2]!) : null };
  });
  return out.sort((a, b) => (a.from?.getTime() ?? -Infinity) - (b.from?.getTime() ?? -Infinity));
}

/** Creates the monthly partition of the UTC month containing `month` (moving that month's rows out of the default partition); true when created. */
export async function ensureEventPartition(db: Db, month: Date): Promise<boolean> {
  const day = month.toISOString().slice(0, 10);
  const r = (await db.raw('SELECT meterline_ensure_event_partition(?::date) AS created', [day])) as { rows: { created: boolean }[] };
  return r.rows[0]!.created;
}

/**
 * True when every event of the monthly partition `name` is invoiced (see the header). A `failed` invoice (failed13) is
 * not: its retry rates the period again from these events.
 */
export async function partitionFullyInvoiced(db: Db, name: string): Promise<boolean> {
  if (!PARTITION_NAME_RE.test(name)) throw new Error(`not a monthly events partition: ${name}`);
  const r = (await db.raw(
    `SELECT NOT EXISTS (
       SELECT 1 FROM ?? e
       WHERE e.subscription_id IS NOT NULL
         AND NOT EXISTS (
           SELECT 1 FROM invoices i
           WHERE i.subscription_id = e.subscription_id AND i.status NOT IN ('draft', 'failed') AND i.invoice_type IN ('subscription', 'termination')
             AND ((e."timestamp" >= i.period_start AND e."timestamp" < i.period_end)
                  OR (i.invoice_type = 'termination' AND e."timestamp" >= i.period_end)))
     ) AS ok`,
    [name],
  )) as { rows: { ok: boolean }[] };
  return r.rows[0]!.ok;
}

/** Detaches and drops the monthly partition `name` (its events' transaction ids stay in event_transaction_ids). */
export async function dropEventPartition(db: Knex, name: string): Promise<void> {
  if (!PARTITION_NAME_RE.test(name)) throw new Error(`not a monthly events partition: ${name}`);
  await db.transaction(async (trx) => {
    await trx.raw('ALTER TABLE events DETACH PARTITION ??', [name]);
    await trx.raw('DROP TABLE ??', [name]);
  });
}
