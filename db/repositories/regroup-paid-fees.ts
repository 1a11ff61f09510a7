// Lago's regroup_paid_fees: 'invoice' (issue 11): the paid fees of pay-in-advance, non-invoiceable charges grouped
// into one invoice at the period end (activities/regroup-paid-fees.ts decides; this file reads and writes).
// The invoice: type `advance_charges` (Lago's), unique per (subscription, period, type, source_key '') like every
// period invoice, so a retried or replayed close claims the same row. A fee is regrouped once: it names its
// invoice in pay_in_advance_fees.regrouped_invoice_id, and only fees with none (and no own invoice) are read.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { Period } from '../../billing/types';
import { lockInvoice, type LockedInvoice } from './invoices';
import { minorUnits } from './minor-units';

export const ADVANCE_CHARGES_INVOICE_TYPE = 'advance_charges';

export interface PaidFeeToRegroup {
  id: string;
  chargeId: string;
  metricCode: string;
  filterIndex: number | null;
  groupedBy: Record<string, string>;
  displayName: string;
  units: string;
  unitAmount: string;
  preciseAmount: string;
  amountCents: number;
  currency: string;
  prorationRatio: string | null;
  period: Period;
}

/**
 * The subscription's fees to regroup at the close of the period ending `periodEnd`: of charges with
 * regroup_paid_fees 'invoice', paid (payment_status succeeded), on no invoice, of this or an earlier period (Lago:
 * a fee paid after its period's close appears on the next regrouping invoice). Row-locked, oldest first.
 */
export async function paidFeesToRegroup(trx: Knex.Transaction, organizationId: string, subscriptionId: string, periodEnd: string): Promise<PaidFeeToRegroup[]> {
  const rows: Record<string, any>[] = await trx('pay_in_advance_fees as p')
    .join('charges as c', function on() {
      this.on('c.id', '=', 'p.charge_id').andOn('c.organization_id', '=', 'p.organization_id');
    })
    .where({ 'p.organization_id': organizationId, 'p.subscription_id': subscriptionId, 'p.payment_status': 'succeeded', 'p.invoiceable': false, 'c.regroup_paid_fees': 'invoice' })
    .whereNull('p.invoice_id')
    .whereNull('p.regrouped_invoice_id')
    .whereNull('p.deleted_at') // DELETE /fees/:id (soft delete): never billed again
    .where('p.period_start', '<', new Date(periodEnd))
    .orderBy([{ column: 'p.event_timestamp' }, { column: 'p.id' }])
    .forUpdate('p')
    .select('p.*');
  return rows.map((r) => {
    const amountCents = minorUnits(r.amount_cents, `fee ${r.id} amount`);
    return {
      id: r.id,
      chargeId: r.charge_id,
      metricCode: r.metric_code,
      filterIndex: r.filter_index ?? null,
      groupedBy: r.grouped_by ?? {},
      displayName: r.display_name,
      units: String(r.units),
      unitAmount: String(r.unit_amount),
      preciseAmount: String(r.precise_amount),
      amountCents,
      currency: String(r.currency).trim(),
      prorationRatio: r.proration_ratio ?? null,
      period: { start: (r.period_start as Date).toISOString(), end: (r.period_end as Date).toISOString() },
    };
  });
}

/** The period's regrouping invoice, if it exists (locked). */
export async function regroupInvoiceOfPeriod(trx: Knex.Transaction, organizationId: string, subscriptionId: string, period: Period): Promise<LockedInvoice | null> {
  const row: { id: string } | undefined = await trx('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: ADVANCE_CHARGES_INVOICE_TYPE, source_key: '' })
    .where('period_start', new Date(period.start))
    .where('period_end', new Date(period.end))
    .first('id');
  return row ? lockInvoice(trx, organizationId, row.id) : null;
}

/** Claims (inserts once, then locks) the period's regrouping invoice. */
export async function claimRegroupInvoice(
  trx: Knex.Transaction,
  input: { organizationId: string; subscriptionId: string; customerId: string; period: Period; fullPeriod: Period; currency: string },
): Promise<LockedInvoice> {
  await trx('invoices')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      subscription_id: input.subscriptionId,
      invoice_type: ADVANCE_CHARGES_INVOICE_TYPE,
      status: 'draft',
      period_start: new Date(input.period.start),
      period_end: new Date(input.period.end),
      full_period_start: new Date(input.fullPeriod.start),
      full_period_end: new Date(input.fullPeriod.end),
      currency: input.currency,
      source_key: '',
    })
    .onConflict(['subscription_id', 'period_start', 'period_end', 'invoice_type', 'source_key'])
    .ignore();
  const locked = await regroupInvoiceOfPeriod(trx, input.organizationId, input.subscriptionId, input.period);
  if (!locked) throw new BillingError('invoice_conflict', `The regrouping invoice of ${input.subscriptionId} ${input.period.start} exists elsewhere`);
  return locked;
}

/** Links the fees to their regrouping invoice and marks it paid (Lago: it consolidates fees already paid). */
export async function settleRegroupInvoice(trx: Knex.Transaction, organizationId: string, invoiceId: string, feeIds: string[], totalAmountCents: number): Promise<void> {
  await trx('pay_in_advance_fees').where({ organization_id: organizationId }).whereIn('id', feeIds).update({ regrouped_invoice_id: invoiceId });
  await trx('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .update({ payment_status: 'succeeded', total_paid_amount_cents: totalAmountCents, payment_overdue: false, updated_at: trx.fn.now() });
}
