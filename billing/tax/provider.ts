// Taxes computed by an external engine (as Lago's Anrok / Avalara integrations): the engine answers per fee with
// its own, already rounded, tax lines; this turns them into the same shapes as the rules' and tax objects' path.
// No rounding here: provider amounts are integers of minor units, so the invoice sums (T3/T4) are exact.
import { BillingError } from '../errors';
import { D, dec, str } from '../money';
import { computeInvoiceTaxes, taxBase } from './compute';
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
