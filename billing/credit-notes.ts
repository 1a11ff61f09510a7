// Credit notes, pure (lago-api CreditNotes::CreateService / CreditNotes::ComputeAmountService / CreditNotes::
// EstimateService, checked against spec/scenarios/credit_notes/credit_note_spec.rb and credit_note_rounding_spec.rb).
//
// An item credits part of a fee's amount BEFORE coupons and taxes (Lago: `items[].amount_cents`). From the items:
//   CN1  coupons adjustment: each item × (the fee's precise coupons / the fee's amount), summed unrounded, rounded
//        once half-up (coupons_adjustment_amount_cents); the credit note never gives back a discount twice;
//   CN2  taxes: per tax of the fees (code and rate), Σ (item − its coupons adjustment) × rate / 100, unrounded;
//        the credit note's taxes_amount_cents = that Σ over taxes rounded once half-up, capped at what the invoice's
//        taxes still have uncredited (so two half-cent credit notes cannot give back more tax than was charged:
//        Lago's rounding scenario, 1,367 then 1,366 of an invoice tax of 2,733);
//   —    sub_total_excluding_taxes = Σ items − coupons adjustment; total = sub_total + taxes (sums of integers).
// Limits (422 otherwise): each item ≤ what its fee has not been credited yet; the total ≤ what the invoice has not
// been credited yet (its total minus the totals of its non-voided credit notes); refund ≤ what was paid and not
// refunded yet; offset ≤ what is still due; credit + refund + offset = total exactly.
import { BillingError } from './errors';
import { D, dec, str, type Dec } from './money';

export type CreditNoteReason = 'duplicated_charge' | 'product_unsatisfactory' | 'order_change' | 'order_cancellation' | 'fraudulent_charge' | 'other';
export const CREDIT_NOTE_REASONS: readonly CreditNoteReason[] = ['duplicated_charge', 'product_unsatisfactory', 'order_change', 'order_cancellation', 'fraudulent_charge', 'other'];

export interface CreditableTax {
  taxId: string | null;
  taxCode: string;
  taxName: string;
  taxRate: string;
}

export interface CreditableFee {
  feeId: string;
  amountCents: number;
  /** Σ of the coupons allocated to the fee (minor units, decimal string). */
  preciseCouponsAmountCents: string;
  taxes: CreditableTax[];
  /** Σ of the items of the invoice's non-voided credit notes on this fee. */
  creditedAmountCents: number;
}

export interface CreditableInvoice {
  currency: string;
  totalAmountCents: number;
  taxesAmountCents: number;
  /** Σ of the totals / taxes / refunds / offsets of its non-voided credit notes. */
  creditedTotalCents: number;
  creditedTaxesCents: number;
  /** Paid (net of provider refunds) and not yet refunded by credit notes. */
  refundableCents: number;
  /** Still due (total − paid): what an offset may cancel. */
  dueCents: number;
}

export interface CreditNoteItemInput {
  feeId: string;
  amountCents: number;
}

export interface CreditNoteAppliedTax extends CreditableTax {
  /** Σ of the items' bases after coupons carrying this tax, rounded once. */
  baseAmountCents: number;
  amountCents: number;
  preciseAmountCents: string;
}

export interface ComputedCreditNote {
  currency: string;
  items: { feeId: string; amountCents: number; preciseCouponsAdjustmentCents: string }[];
  couponsAdjustmentAmountCents: number;
  preciseCouponsAdjustmentAmountCents: string;
  subTotalExcludingTaxesAmountCents: number;
  taxesAmountCents: number;
  preciseTaxesAmountCents: string;
  /** Lago's pro-rated taxes_rate: Σ rate × (base carrying it / the items' base), 5 decimals. */
  taxesRate: string;
  appliedTaxes: CreditNoteAppliedTax[];
  totalAmountCents: number;
  /** Estimate fields: how this total may be split. */
  maxCreditableAmountCents: number;
  maxRefundableAmountCents: number;
  maxOffsettableAmountCents: number;
}

function roundCents(d: Dec): number {
  const n = d.toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber();
  if (!Number.isSafeInteger(n)) throw new BillingError('amount_out_of_range', `Credit note amount ${d.toString()} is out of range`);
  return n === 0 ? 0 : n;
}

function taxesRateOf(sums: Map<string, { tax: CreditableTax; base: Dec }>, total: Dec): string {
  if (!total.isPositive()) return '0';
  const r = [...sums.values()].reduce((a, s) => a.plus(dec(s.tax.taxRate).times(s.base).div(total)), new D(0));
  return str(r.toDecimalPlaces(5, D.ROUND_HALF_UP));
}

function exceeds(message: string, field: string): BillingError {
  return new BillingError('credit_note_amount_exceeds_creditable', message, field);
}

/** The credit note's amounts for `items` (CN1, CN2); throws when an item or the total is not creditable. */
export function computeCreditNote(invoice: CreditableInvoice, fees: CreditableFee[], items: CreditNoteItemInput[]): ComputedCreditNote {
  if (items.length === 0) throw new BillingError('invalid_credit_note', 'A credit note needs at least one item', 'items');
  const byId = new Map(fees.map((f) => [f.feeId, f]));
  const seen = new Set<string>();
  let itemsTotal = 0;
  let itemsBase = new D(0);
  let couponsAdj = new D(0);
  const taxSums = new Map<string, { tax: CreditableTax; base: Dec; amount: Dec }>();
  const outItems = items.map((item, i) => {
    const field = `items[${i}]`;
    const fee = byId.get(item.feeId);
    if (!fee) throw new BillingError('fee_not_found', `Fee ${item.feeId} is not a fee of this invoice`, `${field}.fee_id`);
    if (seen.has(item.feeId)) throw new BillingError('invalid_credit_note', `Fee ${item.feeId} is listed twice`, `${field}.fee_id`);
    seen.add(item.feeId);
    if (!Number.isSafeInteger(item.amountCents) || item.amountCents <= 0) {
      throw new BillingError('invalid_amount', 'An item amount is a positive integer of minor units', `${field}.amount_cents`);
    }
    const left = fee.amountCents - fee.creditedAmountCents;
    if (item.amountCents > left) throw exceeds(`Item ${item.amountCents} exceeds the ${left} still creditable on fee ${fee.feeId}`, `${field}.amount_cents`);
    itemsTotal += item.amountCents;
    const adj = fee.amountCents === 0 ? new D(0) : new D(item.amountCents).times(dec(fee.preciseCouponsAmountCents)).div(fee.amountCents);
    couponsAdj = couponsAdj.plus(adj);
    const base = new D(item.amountCents).minus(adj);
    itemsBase = itemsBase.plus(base);
    for (const t of fee.taxes) {
      const key = `${t.taxCode}|${t.taxRate}`;
      const s = taxSums.get(key) ?? { tax: t, base: new D(0), amount: new D(0) };
      s.base = s.base.plus(base);
      s.amount = s.amount.plus(base.times(dec(t.taxRate)).div(100));
      taxSums.set(key, s);
    }
    return { feeId: item.feeId, amountCents: item.amountCents, preciseCouponsAdjustmentCents: str(adj) };
  });
  const couponsAdjustmentAmountCents = roundCents(couponsAdj);
  const subTotal = itemsTotal - couponsAdjustmentAmountCents;
  let preciseTaxes = [...taxSums.values()].reduce((a, s) => a.plus(s.amount), new D(0));
  const taxesLeft = Math.max(0, invoice.taxesAmountCents - invoice.creditedTaxesCents);
  if (preciseTaxes.greaterThan(taxesLeft)) preciseTaxes = new D(taxesLeft);
  const taxesAmountCents = roundCents(preciseTaxes);
  const total = subTotal + taxesAmountCents;
  const creditableLeft = invoice.totalAmountCents - invoice.creditedTotalCents;
  if (total > creditableLeft) throw exceeds(`Credit note total ${total} exceeds the ${creditableLeft} still creditable on the invoice`, 'items');
  const appliedTaxes = [...taxSums.values()].map((s) => ({ ...s.tax, baseAmountCents: roundCents(s.base), amountCents: roundCents(s.amount), preciseAmountCents: str(s.amount) }));
  return {
    currency: invoice.currency,
    items: outItems,
    couponsAdjustmentAmountCents,
    preciseCouponsAdjustmentAmountCents: str(couponsAdj),
    subTotalExcludingTaxesAmountCents: subTotal,
    taxesAmountCents,
    preciseTaxesAmountCents: str(preciseTaxes),
    taxesRate: taxesRateOf(taxSums, itemsBase),
    appliedTaxes,
    totalAmountCents: total,
    maxCreditableAmountCents: total,
    maxRefundableAmountCents: Math.max(0, Math.min(total, invoice.refundableCents)),
    maxOffsettableAmountCents: Math.max(0, Math.min(total, invoice.dueCents)),
  };
}

export interface CreditNoteSplit {
  creditAmountCents: number;
  refundAmountCents: number;
  offsetAmountCents: number;
}

/**
 * How the total goes back to the customer: credited to their balance, refunded, or offset against what is due.
 * Without any of the three, everything is credited (Meterline's default; Lago requires them). They must sum to
 * the total exactly, each within its maximum.
 */
export function splitCreditNote(cn: ComputedCreditNote, given: Partial<CreditNoteSplit>): CreditNoteSplit {
  const none = given.creditAmountCents === undefined && given.refundAmountCents === undefined && given.offsetAmountCents === undefined;
  const split: CreditNoteSplit = none
    ? { creditAmountCents: cn.totalAmountCents, refundAmountCents: 0, offsetAmountCents: 0 }
    : { creditAmountCents: given.creditAmountCents ?? 0, refundAmountCents: given.refundAmountCents ?? 0, offsetAmountCents: given.offsetAmountCents ?? 0 };
  for (const [field, v] of [['credit_amount_cents', split.creditAmountCents], ['refund_amount_cents', split.refundAmountCents], ['offset_amount_cents', split.offsetAmountCents]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new BillingError('invalid_amount', `${field} must be a non-negative integer`, field);
  }
  if (split.creditAmountCents + split.refundAmountCents + split.offsetAmountCents !== cn.totalAmountCents) {
    throw new BillingError(
      'credit_note_amounts_do_not_balance',
      `credit + refund + offset = ${split.creditAmountCents + split.refundAmountCents + split.offsetAmountCents}, the credit note total is ${cn.totalAmountCents}`,
      'credit_amount_cents',
    );
  }
  if (split.refundAmountCents > cn.maxRefundableAmountCents) throw exceeds(`Refund ${split.refundAmountCents} exceeds the ${cn.maxRefundableAmountCents} paid and not refunded`, 'refund_amount_cents');
  if (split.offsetAmountCents > cn.maxOffsettableAmountCents) throw exceeds(`Offset ${split.offsetAmountCents} exceeds the ${cn.maxOffsettableAmountCents} still due`, 'offset_amount_cents');
  return split;
}

// ---- consumption of credit-note balances by later invoices --------------------------------------------------

export interface AvailableCreditNote {
  creditNoteId: string;
  balanceAmountCents: number;
  /** Oldest first (Lago consumes the customer's credit notes in creation order). */
  createdAt: string;
}

/**
 * The credit-notes step at finalization (after taxes, before wallets): the invoice's amount after taxes is reduced
 * by the customer's available credit-note balances, oldest first, never below zero. Integer cents, no rounding.
 */
export function consumeCreditNotes(amountDueCents: number, notes: AvailableCreditNote[]): { creditNoteId: string; amountCents: number }[] {
  let left = Math.max(0, amountDueCents);
  const out: { creditNoteId: string; amountCents: number }[] = [];
  const ordered = [...notes].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.creditNoteId.localeCompare(b.creditNoteId));
  for (const n of ordered) {
    if (left === 0) break;
    const take = Math.min(left, n.balanceAmountCents);
    if (take <= 0) continue;
    out.push({ creditNoteId: n.creditNoteId, amountCents: take });
    left -= take;
  }
  return out;
}
