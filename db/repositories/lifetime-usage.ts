// A subscription's lifetime usage (Lago's LifetimeUsageObject, GET/PUT /subscriptions/:id/lifetime_usage; issue 13).
// Stored: only the historical amount the client reports (subscription_lifetime_usages, migration
// 20261202000300). Computed on every read, never cached:
// - invoiced usage = Σ amount_cents of the usage fees (charge lines and their late-event adjustments) of the
//   subscription's invoices that are not voided (drafts included, as Lago counts them), in the plan's currency,
//   except progressive-billing invoices (the period's final invoice bills the whole period's usage and deducts
//   them: counting both would count their usage twice), and only fees of periods that START BEFORE `openPeriodStart`
//   (the open period's usage, pay-in-advance fees included, is the current usage: counted once);
// - the open period's progressive invoices, for the thresholds' reached_at.
// All queries are scoped by organization; amounts are integer minor units summed by Postgres.
import type { Knex } from 'knex';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;


/** The historical usage amount the client reported (0 until set). */
export async function historicalUsageAmountCents(db: Db, organizationId: string, subscriptionId: string): Promise<number> {
  const row = await db('subscription_lifetime_usages').where({ organization_id: organizationId, subscription_id: subscriptionId }).first('historical_usage_amount_cents');
  return minorUnits(row?.historical_usage_amount_cents ?? null, 'historical_usage_amount_cents');
}

/** Sets the historical usage amount (an upsert on the subscription: the same value again changes nothing). */
export async function setHistoricalUsageAmountCents(db: Db, organizationId: string, subscriptionId: string, amountCents: number): Promise<void> {
  await db('subscription_lifetime_usages')
    .insert({ organization_id: organizationId, subscription_id: subscriptionId, historical_usage_amount_cents: amountCents })
    .onConflict('subscription_id')
    .merge({ historical_usage_amount_cents: amountCents, updated_at: db.fn.now() });
}

/** Σ usage fees already invoiced for the subscription's periods that start before `openPeriodStart` (null: all). */
export async function invoicedUsageAmountCents(db: Db, organizationId: string, subscriptionId: string, currency: string, openPeriodStart: string | null): Promise<number> {
  const q = db('fees as fe')
    .join('invoices as i', function joinInvoice() {
      this.on('i.id', '=', 'fe.invoice_id').andOn('i.organization_id', '=', 'fe.organization_id');
    })
    .where('i.organization_id', organizationId)
    .where('i.subscription_id', subscriptionId)
    .whereIn('i.status', ['draft', 'finalized'])
    .whereNull('i.voided_at')
    .whereNot('i.invoice_type', 'progressive_billing')
    .where('fe.currency', currency)
    .where((w) => w.where('fe.fee_type', 'charge').orWhere((a) => a.where('fe.fee_type', 'adjustment').where('fe.adjusts_fee_type', 'charge')));
  if (openPeriodStart !== null) q.where('fe.from_datetime', '<', new Date(openPeriodStart));
  const row = (await q.sum({ sum: 'fe.amount_cents' }).first()) as { sum: string | number | null } | undefined;
  return minorUnits(row?.sum ?? null, 'invoiced usage');
}

/** The open period's progressive invoices: the level each was issued for and when (oldest first). */
export async function progressiveLevelsReached(db: Db, organizationId: string, subscriptionId: string, periodStart: string): Promise<{ levelCents: number; at: Date }[]> {
  const rows: { threshold_amount_cents: string | number; created_at: Date }[] = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: 'progressive_billing', period_start: new Date(periodStart) })
    .whereNotNull('threshold_amount_cents')
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .select('threshold_amount_cents', 'created_at');
  return rows.map((r) => ({ levelCents: minorUnits(r.threshold_amount_cents, 'threshold_amount_cents'), at: r.created_at }));
}
