// Pay in advance (issue 11): the subscription's billing time, the events of pay-in-advance charges in arrival order,
// their per-event fees (unique per charge and event transaction_id) and the per-event invoices.
// See db/migrations/20261201000700_pay_in_advance.ts for the tables and keys.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { BillingError } from '../../billing/errors';
import type { InAdvanceEventFee } from '../../billing/in-advance-charges';
import type { BillingTime, Period, UsageEvent } from '../../billing/types';
import { lockInvoice, type LockedInvoice } from './invoices';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

/** Internal invoice type of a pay-in-advance charge's per-event invoice (Lago clients see `subscription`). */
export const IN_ADVANCE_CHARGE_INVOICE_TYPE = 'in_advance_charge';

export async function subscriptionBillingTime(db: Db, organizationId: string, subscriptionId: string): Promise<BillingTime> {
  const row: { billing_time: BillingTime } | undefined = await db('subscriptions')
    .where({ organization_id: organizationId, id: subscriptionId })
    .first('billing_time');
  if (!row) throw new BillingError('subscription_not_found', `Subscription ${subscriptionId} not found`, 'subscription_id');
  return row.billing_time;
}

interface EventRow {
  code: string;
  transaction_id: string;
  timestamp: Date;
  properties: UsageEvent['properties'] | null;
  precise_total_amount: string | null;
}

/** The period's events of `metricCodes`, per code, in ARRIVAL order (events.id). */
export async function eventsInArrivalOrder(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  metricCodes: string[],
  period: Period,
): Promise<Record<string, UsageEvent[]>> {
  const out: Record<string, UsageEvent[]> = {};
  for (const code of metricCodes) out[code] = [];
  if (metricCodes.length === 0) return out;
  const rows: EventRow[] = await db('events')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('code', metricCodes)
    .where('timestamp', '>=', new Date(period.start))
    .where('timestamp', '<', new Date(period.end))
    .orderBy('id')
    .select('code', 'transaction_id', 'timestamp', 'properties', 'precise_total_amount');
  for (const r of rows) {
    (out[r.code] ??= []).push({
      transactionId: r.transaction_id,
      timestamp: r.timestamp.toISOString(),
      properties: r.properties ?? {},
      preciseTotalAmount: r.precise_total_amount === null ? null : canonicalDecimal(r.precise_total_amount),
    });
  }
  return out;
}

/** Transaction ids that already have a fee of `chargeId`. */
export async function billedTransactionIds(db: Db, organizationId: string, chargeId: string, transactionIds: string[]): Promise<Set<string>> {
  if (transactionIds.length === 0) return new Set();
  const rows: { transaction_id: string }[] = await db('pay_in_advance_fees')
    .where({ organization_id: organizationId, charge_id: chargeId })
    .whereIn('transaction_id', transactionIds)
    .select('transaction_id');
  return new Set(rows.map((r) => r.transaction_id));
}

export interface StoredInAdvanceFee extends InAdvanceEventFee {
  id: string;
  invoiceable: boolean;
}

/**
 * Inserts the fees; a fee whose (charge, transaction_id) exists already is skipped (ON CONFLICT DO NOTHING).
 * Returns only the rows this call inserted.
 */
export async function insertInAdvanceFees(
  trx: Knex.Transaction,
  scope: { organizationId: string; subscriptionId: string; period: Period },
  fees: Array<InAdvanceEventFee & { invoiceable: boolean }>,
): Promise<StoredInAdvanceFee[]> {
  const out: StoredInAdvanceFee[] = [];
  for (const f of fees) {
    const inserted: { id: string }[] = await trx('pay_in_advance_fees')
      .insert({
        organization_id: scope.organizationId,
        subscription_id: scope.subscriptionId,
        charge_id: f.chargeId,
        metric_code: f.metricCode,
        transaction_id: f.transactionId,
        event_timestamp: new Date(f.eventTimestamp),
        period_start: new Date(scope.period.start),
        period_end: new Date(scope.period.end),
        filter_index: f.filterIndex,
        grouped_by: JSON.stringify(f.groupedBy),
        display_name: f.displayName,
        units: f.units,
        unit_amount: f.unitAmount,
        precise_amount: f.preciseAmount,
        amount_cents: f.amountCents,
        currency: f.currency,
        proration_ratio: f.prorationRatio,
        invoiceable: f.invoiceable,
      })
      .onConflict(['organization_id', 'charge_id', 'transaction_id'])
      .ignore()
      .returning('id');
    if (inserted[0]) out.push({ ...f, id: inserted[0].id });
  }
  return out;
}

/** Σ amount of the pay-in-advance fees of the period (they count toward its minimum commitment). */
export async function inAdvanceFeesAmountCents(db: Db, organizationId: string, subscriptionId: string, period: Period): Promise<number> {
  const row = (await db('pay_in_advance_fees')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, period_start: new Date(period.start) })
    .sum<{ s: string | null }[]>({ s: 'amount_cents' })
    .first()) as { s: string | null } | undefined;
  return minorUnits(row?.s ?? null, 'in-advance fees sum');
}

export interface InAdvanceFeeRow {
  id: string;
  transactionId: string;
  chargeId: string;
  amountCents: number;
  invoiceId: string | null;
  invoiceable: boolean;
}

export async function inAdvanceFeesOfSubscription(db: Db, organizationId: string, subscriptionId: string): Promise<InAdvanceFeeRow[]> {
  const rows: Array<{ id: string; transaction_id: string; charge_id: string; amount_cents: string; invoice_id: string | null; invoiceable: boolean }> =
    await db('pay_in_advance_fees')
      .where({ organization_id: organizationId, subscription_id: subscriptionId })
      .orderBy('created_at')
      .orderBy('transaction_id')
      .select('id', 'transaction_id', 'charge_id', 'amount_cents', 'invoice_id', 'invoiceable');
  return rows.map((r) => ({
    id: r.id,
    transactionId: r.transaction_id,
    chargeId: r.charge_id,
    amountCents: Number(r.amount_cents),
    invoiceId: r.invoice_id,
    invoiceable: r.invoiceable,
  }));
}

/** Claims (or finds) the per-event invoice of a fee, locked; keyed by the fee id (invoices.source_key). */
export async function claimFeeInvoice(
  trx: Knex.Transaction,
  input: { organizationId: string; subscriptionId: string; customerId: string; period: Period; fullPeriod: Period; currency: string; feeId: string },
): Promise<LockedInvoice> {
  await trx('invoices')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      subscription_id: input.subscriptionId,
      invoice_type: IN_ADVANCE_CHARGE_INVOICE_TYPE,
      status: 'draft',
      period_start: new Date(input.period.start),
      period_end: new Date(input.period.end),
      full_period_start: new Date(input.fullPeriod.start),
      full_period_end: new Date(input.fullPeriod.end),
      currency: input.currency,
      source_key: input.feeId,
    })
    .onConflict(['subscription_id', 'period_start', 'period_end', 'invoice_type', 'source_key'])
    .ignore();
  const row: { id: string } | undefined = await trx('invoices')
    .where({ organization_id: input.organizationId, subscription_id: input.subscriptionId, invoice_type: IN_ADVANCE_CHARGE_INVOICE_TYPE, source_key: input.feeId })
    .first('id');
  const locked = row ? await lockInvoice(trx, input.organizationId, row.id) : null;
  if (!locked) throw new BillingError('invoice_conflict', `The invoice of fee ${input.feeId} exists elsewhere`);
  return locked;
}

export async function linkFeeInvoice(trx: Knex.Transaction, organizationId: string, feeId: string, invoiceId: string): Promise<void> {
  await trx('pay_in_advance_fees').where({ organization_id: organizationId, id: feeId }).update({ invoice_id: invoiceId });
}

/** The subscription fee line that paid for the instant `at` (advance plans), on a non-voided invoice; null if none. */
export async function advanceFeeCovering(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  at: string,
): Promise<{ feeId: string; invoiceId: string; amountCents: number; currency: string; feePeriod: Period } | null> {
  return subscriptionFeeCovering(db, organizationId, subscriptionId, at, '<=');
}

/**
 * The advance fee an UPGRADE at `at` credits: the subscription fee covering `at` that started before it. The
 * upgrade's own invoice carries the new plan's first fee starting at `at` (activities/plan-change-boundary.ts),
 * which is never the one credited.
 */
export async function advanceFeeCoveringBefore(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  at: string,
): Promise<{ feeId: string; invoiceId: string; amountCents: number; currency: string; feePeriod: Period } | null> {
  return subscriptionFeeCovering(db, organizationId, subscriptionId, at, '<');
}

async function subscriptionFeeCovering(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  at: string,
  startsAt: '<' | '<=',
): Promise<{ feeId: string; invoiceId: string; amountCents: number; currency: string; feePeriod: Period } | null> {
  const row: { id: string; invoice_id: string; amount_cents: string; currency: string; from_datetime: Date; to_datetime: Date } | undefined = await db('fees as f')
    .join('invoices as i', 'i.id', 'f.invoice_id')
    .where({ 'f.organization_id': organizationId, 'i.subscription_id': subscriptionId, 'f.fee_type': 'subscription' })
    .whereNull('i.voided_at')
    .whereNot('i.status', 'deleted') // del13: a deleted draft's fee was never billed, so nothing of it is credited
    // Covering `at`, or (adv11c) paid for days after it that a trial pushed past `at`: a fee billed on an invoice issued
    // by then (its period ends by `at`) for [trial end, period end), e.g. an upgrade or termination during a trial.
    .where((q) =>
      q.where('f.from_datetime', startsAt, new Date(at)).orWhere((later) => later.where('f.from_datetime', '>', new Date(at)).where('i.period_end', startsAt, new Date(at))),
    )
    .where('f.to_datetime', '>', new Date(at))
    // After an upgrade the old plan's fee and the new plan's first fee both end at the boundary: the later invoice
    // (then the later start) pays now.
    .orderBy([{ column: 'f.to_datetime', order: 'desc' }, { column: 'i.period_end', order: 'desc' }, { column: 'f.from_datetime', order: 'desc' }])
    .first('f.id', 'f.invoice_id', 'f.amount_cents', 'f.currency', 'f.from_datetime', 'f.to_datetime');
  if (!row) return null;
  return {
    feeId: row.id,
    invoiceId: row.invoice_id,
    amountCents: Number(row.amount_cents),
    currency: row.currency.trim(),
    feePeriod: { start: row.from_datetime.toISOString(), end: row.to_datetime.toISOString() },
  };
}

/**
 * The subscription's in-advance invoices whose business key (source_key) starts with `prefix`, issued in
 * [period.start, period.end) (units11: the units-change invoices of a period, activities/fixed-charge-units.ts).
 */
export async function invoicesWithKeyPrefix(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  prefix: string,
  period: Period,
): Promise<{ invoiceId: string; status: 'draft' | 'finalized'; totalAmountCents: number; currency: string }[]> {
  const rows: { id: string; status: 'draft' | 'finalized'; total_amount_cents: string; currency: string }[] = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: IN_ADVANCE_CHARGE_INVOICE_TYPE })
    .whereLike('source_key', `${prefix}%`)
    .where('period_start', '>=', new Date(period.start))
    .where('period_start', '<', new Date(period.end))
    .orderBy([{ column: 'period_start' }, { column: 'created_at' }])
    .select('id', 'status', 'total_amount_cents', 'currency');
  return rows.map((r) => ({ invoiceId: r.id, status: r.status, totalAmountCents: minorUnits(r.total_amount_cents, 'invoice total'), currency: r.currency.trim() }));
}
