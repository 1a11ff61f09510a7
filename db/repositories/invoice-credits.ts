// The invoice columns of coupons, credit notes and one-off invoices (issue 12b), beside db/repositories/invoices.ts
// (which writes fees and totals): what finalization reads of a draft's coupons, the total lowered by credit-note
// balances, and the row of a one-off invoice (no subscription; one per request, the API's Idempotency-Key guards
// replays).
import type { Knex } from 'knex';
import type { CouponCredit } from '../../billing/coupons';
import { lockInvoice, type LockedInvoice } from './invoices';
import { minorUnits } from './minor-units';

export type { LockedInvoice };


/** The coupon credits the last rating of a draft computed (invoices.coupon_credits). */
export async function invoiceCreditColumns(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<{ couponCredits: CouponCredit[] }> {
  const r = await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).first('coupon_credits');
  return { couponCredits: (r?.coupon_credits ?? []) as CouponCredit[] };
}

/** Records credit-note balances used by the invoice and lowers its total by as much (the invoice is locked). */
export async function lowerInvoiceTotalByCreditNotes(trx: Knex.Transaction, invoice: LockedInvoice, amountCents: number): Promise<LockedInvoice> {
  const [row] = await trx('invoices')
    .where({ organization_id: invoice.organizationId, id: invoice.id, status: 'draft' })
    .update({
      credit_notes_amount_cents: trx.raw('credit_notes_amount_cents + ?::bigint', [amountCents]),
      total_amount_cents: trx.raw('total_amount_cents - ?::bigint', [amountCents]),
      updated_at: trx.fn.now(),
    })
    .returning(['total_amount_cents']);
  if (!row) throw new Error(`Invoice ${invoice.id} is not a locked draft`);
  return { ...invoice, totalAmountCents: minorUnits(row.total_amount_cents, 'total_amount_cents') };
}

/** A new, empty one-off draft of a customer (invoice_type one_off, no subscription), locked for `trx`. */
export async function insertOneOffDraft(
  trx: Knex.Transaction,
  input: { organizationId: string; customerId: string; currency: string; periodStart: Date; periodEnd: Date },
): Promise<LockedInvoice> {
  const [row] = await trx('invoices')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      subscription_id: null,
      invoice_type: 'one_off',
      status: 'draft',
      period_start: input.periodStart,
      period_end: input.periodEnd,
      currency: input.currency,
    })
    .returning('id');
  const locked = await lockInvoice(trx, input.organizationId, row.id);
  if (!locked) throw new Error(`One-off invoice ${String(row.id)} vanished`);
  return locked;
}
