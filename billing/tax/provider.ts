// Taxes computed by an external engine (as Lago's Anrok / Avalara integrations): the engine answers per fee with
// its own, already rounded, tax lines; this turns them into the same shapes as the rules' and tax objects' path.
// No rounding of taxes here: provider amounts are integers of minor units, so the invoice sums (T3/T4) are exact;
// the one rounding is the base each fee is sent with (T5, providerFeeAmountCents).
import { BillingError } from '../errors';
import { D, dec, str } from '../money';
import { computeInvoiceTaxes, taxBase } from './compute';
import type { Fee, InvoiceDraft } from '../invoice';
import { taxedDraft, type TaxedInvoiceDraft } from './invoice-taxes';
import type { FeeAppliedTax, FeeTaxes, TaxableFee, TaxedInvoice } from './types';

export interface ProviderTaxLine {
  code: string;
  name: string;
  /** Percentage as a decimal string. */
  rate: string;
  amountCents: number;
}

/** The engine's answer for fee i (same order as the fees sent). */
export interface ProviderFeeTaxes {
  taxes: ProviderTaxLine[];
}

/** An engine's rate as a fraction ("0.08875", Anrok's) → a percentage as a decimal string ("8.875"). Exact. */
export function percentFromFraction(fraction: string): string {
  return str(dec(fraction, 'rate').times(100));
}

/**
 * The amount each fee is sent to the engine with: its base after coupons (Lago's sub_total_excluding_taxes_amount_cents),
 * rounded half-up to the minor unit (rounding point T5, billing/README.md). Integer minor units.
 */
export function providerFeeAmountCents(fee: TaxableFee): number {
  return taxBase(fee).toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber();
}

/** The taxes step with the engine's answer instead of the rules': the same draft, its taxes and new total. */
export function providerTaxInvoiceDraft(draft: InvoiceDraft & { fees: (Fee & { preTaxAmountCents?: string })[] }, answer: ProviderFeeTaxes[]): TaxedInvoiceDraft {
  return taxedDraft(draft, applyProviderTaxes(draft.fees, answer, draft.currency), null);
}

export function applyProviderTaxes<F extends TaxableFee>(fees: F[], answer: ProviderFeeTaxes[], currency: string): TaxedInvoice<F> {
  if (answer.length !== fees.length) {
    throw new BillingError('tax_provider_mismatch', `Tax provider answered for ${answer.length} fees, ${fees.length} were sent`);
  }
  const taxed = fees.map((fee, i) => {
    let total = 0;
    let rate = new D(0);
    const appliedTaxes: FeeAppliedTax[] = answer[i]!.taxes.map((t) => {
      if (!Number.isSafeInteger(t.amountCents)) throw new BillingError('tax_provider_invalid_amount', `Tax ${t.code} amount is not an integer of minor units`);
      total += t.amountCents;
      rate = rate.plus(dec(t.rate, 'rate'));
      return { taxId: `provider:${t.code}`, taxCode: t.code, taxName: t.name, taxRate: str(dec(t.rate)), taxDescription: null, amountCents: t.amountCents, preciseAmountCents: String(t.amountCents), amountCurrency: currency };
    });
    const taxes: FeeTaxes = {
      source: 'provider',
      appliedTaxes,
      taxesAmountCents: total,
      taxesPreciseAmountCents: String(total),
      taxesRate: str(rate),
      subTotalExcludingTaxesPreciseAmountCents: str(taxBase(fee)),
    };
    return { ...fee, taxes };
  });
  return { fees: taxed, ...computeInvoiceTaxes(taxed, currency) };
}
