// Test clocks (sandbox, issue 11c): an organization's clocks, the subscriptions living on them and the open
// invoices of those subscriptions (whose workflows wait on the clock). frozen_time only moves forward.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface TestClockRecord {
  id: string;
  organizationId: string;
  name: string | null;
  frozenTime: Date;
  createdAt: Date;
  updatedAt: Date;
}

function toClock(r: Record<string, any>): TestClockRecord {
  return { id: r.id, organizationId: r.organization_id, name: r.name ?? null, frozenTime: r.frozen_time, createdAt: r.created_at, updatedAt: r.updated_at };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function createTestClock(db: Db, organizationId: string, c: { name: string | null; frozenTime: Date }): Promise<TestClockRecord> {
  const [row] = await db('test_clocks').insert({ organization_id: organizationId, name: c.name, frozen_time: c.frozenTime }).returning('*');
  return toClock(row);
}

export async function getTestClock(db: Db, organizationId: string, id: string): Promise<TestClockRecord | null> {
  if (!UUID.test(id)) return null;
  const row = await db('test_clocks').where({ organization_id: organizationId, id }).first();
  return row ? toClock(row) : null;
}

export async function listTestClocks(db: Db, organizationId: string, page: number, perPage: number): Promise<{ clocks: TestClockRecord[]; totalCount: number }> {
  const [{ n }] = await db('test_clocks').where({ organization_id: organizationId }).count<{ n: string }[]>({ n: '*' });
  const rows = await db('test_clocks')
    .where({ organization_id: organizationId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { clocks: rows.map(toClock), totalCount: Number(n) };
}

/**
 * Moves the clock to `frozenTime` if that is not earlier than its time (the same time again is a no-op that
 * re-announces it). Returns the clock after the call, or 'backwards' when `frozenTime` is earlier.
 */
export async function advanceTestClock(db: Knex, organizationId: string, id: string, frozenTime: Date): Promise<TestClockRecord | 'backwards' | null> {
  return db.transaction(async (trx) => {
    const row = await trx('test_clocks').where({ organization_id: organizationId, id }).forUpdate().first();
    if (!row) return null;
    if (frozenTime.getTime() < (row.frozen_time as Date).getTime()) return 'backwards';
    const [updated] = await trx('test_clocks')
      .where({ organization_id: organizationId, id })
      .update({ frozen_time: frozenTime, updated_at: trx.fn.now() })
      .returning('*');
    return toClock(updated);
  });
}

/** Subscriptions on the clock whose workflow runs (pending or active). */
export async function liveSubscriptionIdsOnClock(db: Db, organizationId: string, testClockId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('subscriptions')
    .where({ organization_id: organizationId, test_clock_id: testClockId })
    .whereIn('status', ['pending', 'active'])
    .select('id');
  return rows.map((r) => r.id);
}

/** Invoices of the clock's subscriptions whose workflow may still wait on the clock (drafts, unpaid, not voided). */
export async function openInvoiceIdsOnClock(db: Db, organizationId: string, testClockId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('invoices as i')
    .join('subscriptions as s', 's.id', 'i.subscription_id')
    .where({ 'i.organization_id': organizationId, 's.test_clock_id': testClockId })
    .whereNot('i.payment_status', 'succeeded')
    .whereNull('i.voided_at')
    .select('i.id');
  return rows.map((r) => r.id);
}

/** The frozen time of the subscription's test clock, or null when it lives in real time. */
export async function clockTimeOfSubscription(db: Db, organizationId: string, subscriptionId: string): Promise<Date | null> {
  const row = await db('subscriptions as s')
    .join('test_clocks as tc', 'tc.id', 's.test_clock_id')
    .where({ 's.organization_id': organizationId, 's.id': subscriptionId })
    .first('tc.frozen_time');
  return row ? (row.frozen_time as Date) : null;
}

/** The frozen times of an organization's clocks (one query), by clock id: the "now" of the subscriptions on them. */
export async function clockTimesById(db: Db, organizationId: string, clockIds: string[]): Promise<Map<string, Date>> {
  if (clockIds.length === 0) return new Map();
  const rows: { id: string; frozen_time: Date }[] = await db('test_clocks').where({ organization_id: organizationId }).whereIn('id', [...new Set(clockIds)]).select('id', 'frozen_time');
  return new Map(rows.map((r) => [r.id, r.frozen_time]));
}

/** The frozen time of the test clock of the invoice's subscription, or null (real time). */
export async function clockTimeOfInvoice(db: Db, organizationId: string, invoiceId: string): Promise<Date | null> {
  const row = await db('invoices as i')
    .join('subscriptions as s', 's.id', 'i.subscription_id')
    .join('test_clocks as tc', 'tc.id', 's.test_clock_id')
    .where({ 'i.organization_id': organizationId, 'i.id': invoiceId })
    .first('tc.frozen_time');
  return row ? (row.frozen_time as Date) : null;
}

/** Test clock time of each of these subscriptions (external ids) that lives on one (ingest: event time windows). */
export async function clockTimesOfSubscriptions(db: Db, organizationId: string, externalIds: string[]): Promise<Map<string, Date>> {
  if (externalIds.length === 0) return new Map();
  const rows: { external_id: string; frozen_time: Date }[] = await db('subscriptions as s')
    .join('test_clocks as tc', 'tc.id', 's.test_clock_id')
    .where('s.organization_id', organizationId)
    .whereIn('s.external_id', externalIds)
    .select('s.external_id', 'tc.frozen_time');
  return new Map(rows.map((r) => [r.external_id, r.frozen_time]));
}
