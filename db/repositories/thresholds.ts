// Progressive-billing (usage threshold) invoices: the rows of invoices with invoice_type 'progressive_billing'
// and a threshold key (migration 20261127000007).
//
// Idempotency: a progressive invoice is unique per (subscription_id, period_start, invoice_type,
// threshold_key) with threshold_key = `usage_threshold:<level in minor units>`. Its period is
// [period start, crossing instant); the crossing instant differs between two evaluations, the key does not.
// Evaluations of one subscription serialize on a transaction-scoped advisory lock
// (lockSubscriptionThresholds), and the unique index backs it.
//
// What was already billed: progressiveBilledAmountCents(db, organizationId, subscriptionId, period) = Σ total_amount_cents of the
// subscription's progressive invoices of the same period start that END BEFORE `period.end`: for the final
// (subscription / termination) invoice of the period, all of them; for a progressive invoice, the earlier
// ones. billing/buildInvoice deducts it as the progressive_billing_credit line.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { Period } from '../../billing/types';
import { lockInvoice, type LockedInvoice } from './invoices';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export function usageThresholdKey(levelCents: number): string {
  return `usage_threshold:${levelCents}`;
}

export interface ProgressiveInvoiceRow {
  id: string;
  status: 'draft' | 'finalized';
  currency: string;
  totalAmountCents: number;
  /** The threshold level this invoice was issued for (minor units). */
  thresholdAmountCents: number;
  periodStart: string;
  periodEnd: string;
}

function instant(isoString: string, field: string): Date {
  const d = new Date(isoString);
  if (Number.isNaN(d.getTime())) throw new BillingError('invalid_datetime', `Not an ISO datetime: ${isoString}`, field);
  return d;
}

/** Serializes threshold evaluations of one subscription until the end of `trx`. */
export async function lockSubscriptionThresholds(trx: Knex.Transaction, subscriptionId: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`thresholds:${subscriptionId}`]);
}

/** The subscription's progressive invoices of the period starting at `periodStart`, oldest first. */
export async function progressiveInvoicesOfPeriod(db: Db, organizationId: string, subscriptionId: string, periodStart: string): Promise<ProgressiveInvoiceRow[]> {
  const rows: Record<string, any>[] = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: 'progressive_billing', period_start: instant(periodStart, 'period.start') })
    .whereNotNull('threshold_key')
    .orderBy([{ column: 'period_end' }, { column: 'id' }])
    .select('id', 'status', 'currency', 'total_amount_cents', 'threshold_amount_cents', 'period_start', 'period_end');
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    currency: String(r.currency).trim(),
    totalAmountCents: Number(r.total_amount_cents),
    thresholdAmountCents: Number(r.threshold_amount_cents),
    periodStart: r.period_start.toISOString(),
    periodEnd: r.period_end.toISOString(),
  }));
}

/**
 * What progressive invoices already billed for `period` (see the header): Σ total_amount_cents of the
 * subscription's progressive invoices with the same start that end before `period.end`. 0 when none.
 */
export async function progressiveBilledAmountCents(db: Db, organizationId: string, subscriptionId: string, period: Period): Promise<number> {
  const row = (await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: 'progressive_billing', period_start: instant(period.start, 'period.start') })
    .where('period_end', '<', instant(period.end, 'period.end'))
    .whereNot('status', 'deleted') // del13: a deleted progressive draft billed nothing (db/repositories/invoice-deletion.ts)
    .sum({ sum: 'total_amount_cents' })
    .first()) as { sum: string | number | null } | undefined;
  const sum = minorUnits(row?.sum ?? null, 'progressive billed amount');
  if (sum < 0) throw new BillingError('amount_out_of_range', `Progressive billed amount ${String(row?.sum)} is out of range`);
  return sum;
}

/** True when the period already has its final invoice (subscription or termination): no more progressive invoices. */
export async function periodHasFinalInvoice(db: Db, organizationId: string, subscriptionId: string, periodStart: string): Promise<boolean> {
  const row = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, period_start: instant(periodStart, 'period.start') })
    .whereIn('invoice_type', ['subscription', 'termination'])
    .first('id');
  return row !== undefined;
}

export interface ClaimProgressiveInvoiceInput {
  organizationId: string;
  subscriptionId: string;
  customerId: string;
  currency: string;
  /** [period start, crossing instant). */
  period: Period;
  fullPeriod: Period;
  thresholdAmountCents: number;
}

/**
 * Finds or creates the progressive invoice of (subscription, period start, threshold level) and locks it for the
 * rest of `trx`. A new row is an empty draft; the caller writes its fees in the same transaction.
 */
export async function claimProgressiveInvoice(trx: Knex.Transaction, input: ClaimProgressiveInvoiceInput): Promise<LockedInvoice> {
  const thresholdKey = usageThresholdKey(input.thresholdAmountCents);
  const periodStart = instant(input.period.start, 'period.start');
  const inserted: { id: string }[] = await trx('invoices')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      subscription_id: input.subscriptionId,
      invoice_type: 'progressive_billing',
      status: 'draft',
      period_start: periodStart,
      period_end: instant(input.period.end, 'period.end'),
      full_period_start: instant(input.fullPeriod.start, 'full_period.start'),
      full_period_end: instant(input.fullPeriod.end, 'full_period.end'),
      currency: input.currency,
      threshold_key: thresholdKey,
      threshold_amount_cents: input.thresholdAmountCents,
    })
    .onConflict(['subscription_id', 'period_start', 'invoice_type', 'threshold_key'])
    .ignore()
    .returning('id');
  const existing: { id: string } | undefined =
    inserted[0] ??
    (await trx('invoices')
      .where({ organization_id: input.organizationId, subscription_id: input.subscriptionId, invoice_type: 'progressive_billing', period_start: periodStart, threshold_key: thresholdKey })
      .first('id'));
  if (!existing) {
    throw new BillingError('invoice_conflict', `A progressive invoice for subscription ${input.subscriptionId} and ${thresholdKey} exists elsewhere`);
  }
  const locked = await lockInvoice(trx, input.organizationId, existing.id);
  if (!locked) throw new Error(`Progressive invoice ${existing.id} vanished`);
  return { ...locked, created: inserted[0] !== undefined };
}
