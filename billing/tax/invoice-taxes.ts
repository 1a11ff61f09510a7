// The taxes step of the invoice pipeline, as ONE pure function over an invoice draft (Lago's order: fees →
// progressive-billing credit → coupons → TAXES → credit notes → wallets). Until coupons exist a fee's base is its
// amount; once they do, the coupons step sets each fee's `preTaxAmountCents` and this step is unchanged.
// Totals: totalAmountCents = the draft's total + taxesAmountCents (sums of integers, no new rounding).
import { BillingError } from '../errors';
import type { Fee, InvoiceDraft } from '../invoice';
import { applyTaxes } from './compute';
import type { TaxDecision } from './rules';
import type { FeeTaxes, InvoiceAppliedTax, TaxAssignments, TaxedInvoice } from './types';

export interface InvoiceTaxContext {
  assignments: TaxAssignments;
  /** The automatic rules' decision for this invoice (its tax is used at the `automatic` level), or null. */
  decision: TaxDecision | null;
}

export interface TaxedInvoiceDraft extends InvoiceDraft {
  fees: (Fee & { preTaxAmountCents?: string; taxes: FeeTaxes })[];
  appliedTaxes: InvoiceAppliedTax[];
  taxesAmountCents: number;
  taxesRate: string;
  /** Recorded on the invoice: which rule applied and why; null when tax objects (or nothing) applied. */
  taxDecision: TaxDecision | null;
}

export function taxInvoiceDraft(draft: InvoiceDraft & { fees: (Fee & { preTaxAmountCents?: string })[] }, ctx: InvoiceTaxContext): TaxedInvoiceDraft {
  const assignments: TaxAssignments = ctx.decision ? { ...ctx.assignments, automatic: [ctx.decision.tax] } : ctx.assignments;
  const taxed = applyTaxes(draft.fees, { currency: draft.currency, assignments });
  const usedRule = taxed.fees.some((f) => f.taxes.source === 'rule');
  return taxedDraft(draft, taxed, usedRule ? ctx.decision : null);
}

/** The draft with its taxed fees, applied taxes and new total (fees + taxes, checked to be a safe integer). */
export function taxedDraft(draft: InvoiceDraft, taxed: TaxedInvoice<Fee & { preTaxAmountCents?: string }>, taxDecision: TaxDecision | null): TaxedInvoiceDraft {
  const total = draft.totalAmountCents + taxed.taxesAmountCents;
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'Invoice total with taxes is not a safe integer');
  return {
    ...draft,
    fees: taxed.fees,
    appliedTaxes: taxed.appliedTaxes,
    taxesAmountCents: taxed.taxesAmountCents,
    taxesRate: taxed.taxesRate,
    taxDecision,
    totalAmountCents: total,
  };
}
