// Tax computation and its rounding, in Lago's order (lago-api Fees::ApplyTaxesService and
// Invoices::ApplyTaxesService): taxes are computed on each fee's amount after coupons;
//   T1  each applied tax of a fee: base × rate / 100, rounded half-up to the minor unit;
//   T2  the fee's taxes_amount_cents: the unrounded per-tax amounts summed, rounded once;
//   T3  each applied tax of the invoice: Σ over its fees of base × rate / 100 (unrounded), rounded once;
//       its fees_amount_cents: Σ of those bases, rounded once;
//   T4  the invoice's taxes_amount_cents: Σ of the unrounded per-tax sums of T3, rounded once.
// So the invoice tax may differ from the sum of the fee taxes (Lago's coupons-breakdown scenario: 1,889 on the
// invoice where the eight fees' taxes sum to 1,887). Amounts here are already in minor units, so "rounded to the
// minor unit" is rounding to an integer, half-up (ties away from zero, so a negative fee's tax mirrors a positive one).
import { BillingError } from '../errors';
import { D, dec, str, type Dec } from '../money';
import { applicableTaxes } from './precedence';
import type {
  FeeAppliedTax,
  FeeTaxes,
  InvoiceAppliedTax,
  Tax,
  TaxableFee,
  TaxAssignments,
  TaxedInvoice,
} from './types';

export interface TaxContext {
  currency: string;
  assignments: TaxAssignments;
}

function roundCents(d: Dec): number {
  const n = d.toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber();
  if (!Number.isSafeInteger(n)) throw new BillingError('amount_out_of_range', `Tax amount ${d.toString()} is not a safe integer`);
  return n === 0 ? 0 : n;
}

function rateOf(tax: Tax): Dec {
  const r = dec(tax.rate, 'rate');
  if (r.isNegative()) throw new BillingError('invalid_tax_rate', `Tax ${tax.code} has a negative rate`, 'rate');
  return r;
}

/** The fee's base for taxes: its amount after coupons (unrounded minor units). */
export function taxBase(fee: TaxableFee): Dec {
  return fee.preTaxAmountCents !== undefined ? dec(fee.preTaxAmountCents, 'pre_tax_amount_cents') : new D(fee.amountCents);
}

/** Taxes of one fee (T1, T2). */
export function computeFeeTaxes(fee: TaxableFee, ctx: TaxContext): FeeTaxes {
  const { source, taxes } = applicableTaxes(fee, ctx.assignments);
  const base = taxBase(fee);
  let precise = new D(0);
  let rate = new D(0);
  const appliedTaxes: FeeAppliedTax[] = taxes.map((tax) => {
    const amount = base.times(rateOf(tax)).div(100);
    precise = precise.plus(amount);
    rate = rate.plus(rateOf(tax));
    return {
      taxId: tax.id,
      taxCode: tax.code,
      taxName: tax.name,
      taxRate: str(rateOf(tax)),
      taxDescription: tax.description,
      amountCents: roundCents(amount),
      preciseAmountCents: str(amount),
      amountCurrency: ctx.currency,
    };
  });
  return {
    source,
    appliedTaxes,
    taxesAmountCents: roundCents(precise),
    taxesPreciseAmountCents: str(precise),
    taxesRate: str(rate),
    subTotalExcludingTaxesPreciseAmountCents: str(base),
  };
}

interface TaxSum {
  first: FeeAppliedTax;
  base: Dec;
  amount: Dec;
  feeCount: number;
}

/** Invoice-level applied taxes (T3) and total (T4) from the fees' taxes. */
export function computeInvoiceTaxes(
  fees: { taxes: FeeTaxes }[],
  currency: string,
): { appliedTaxes: InvoiceAppliedTax[]; taxesAmountCents: number; taxesRate: string } {
  const byTax = new Map<string, TaxSum>();
  let subTotal = new D(0);
  for (const fee of fees) {
    const base = dec(fee.taxes.subTotalExcludingTaxesPreciseAmountCents);
    subTotal = subTotal.plus(base);
    for (const t of fee.taxes.appliedTaxes) {
      const key = `${t.taxCode}|${t.taxRate}`;
      const sum = byTax.get(key) ?? { first: t, base: new D(0), amount: new D(0), feeCount: 0 };
      sum.base = sum.base.plus(base);
      sum.amount = sum.amount.plus(dec(t.preciseAmountCents));
      sum.feeCount += 1;
      byTax.set(key, sum);
    }
  }
  let total = new D(0);
  let rate = new D(0);
  const appliedTaxes: InvoiceAppliedTax[] = [...byTax.values()].map((s) => {
    total = total.plus(s.amount);
    // Lago's pro-rata: the tax's rate weighted by the share of the sub-total it applies to (by fee count at 0).
    const share = subTotal.isZero() ? new D(s.feeCount).div(fees.length) : s.base.div(subTotal);
    rate = rate.plus(share.times(s.first.taxRate));
    return {
      taxId: s.first.taxId,
      taxCode: s.first.taxCode,
      taxName: s.first.taxName,
      taxRate: s.first.taxRate,
      taxDescription: s.first.taxDescription,
      amountCents: roundCents(s.amount),
      preciseAmountCents: str(s.amount),
      feesAmountCents: roundCents(s.base),
      amountCurrency: currency,
    };
  });
  return { appliedTaxes, taxesAmountCents: roundCents(total), taxesRate: str(rate.toDecimalPlaces(5, D.ROUND_HALF_UP)) };
}

/**
 * The taxes step of the pipeline: one pure function. Fees in → the same fees with their `taxes`, the invoice's
 * applied taxes and its taxes_amount_cents. Runs after coupons (fees carry `preTaxAmountCents`).
 */
export function applyTaxes<F extends TaxableFee>(fees: F[], ctx: TaxContext): TaxedInvoice<F> {
  const taxed = fees.map((fee) => ({ ...fee, taxes: computeFeeTaxes(fee, ctx) }));
  const inv = computeInvoiceTaxes(taxed, ctx.currency);
  return { fees: taxed, ...inv };
}
