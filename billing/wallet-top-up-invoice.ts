// The top-up invoice of paid wallet credits (Lago Invoices::PaidCreditService: an invoice of type `credit`
// with one `credit` fee). The amount is the paid movement's, already converted from credits with W1
// (wallet.creditsToCents) — no new rounding point: units = the credits, unit amount = rate_amount (currency
// units per credit), amount = those cents. Untaxed, as Lago: taxes apply when the credits pay usage invoices.
import { BillingError } from './errors';
import type { Fee, InvoiceDraft } from './invoice';
import { minorUnitsToDecimalString as minorToDecimal } from './money';

export interface TopUpInvoiceInput {
  currency: string;
  /** The paid movement's amount (integer minor units, W1). */
  amountCents: number;
  /** Decimal strings: the credits bought and the wallet's rate_amount. */
  credits: string;
  rateAmount: string;
  walletName: string | null;
  /** ISO instant of the top-up (the fee's from/to). */
  at: string;
}

export function buildTopUpInvoiceDraft(t: TopUpInvoiceInput): InvoiceDraft {
  if (!Number.isSafeInteger(t.amountCents) || t.amountCents <= 0) throw new BillingError('invalid_amount', 'a top-up invoice needs a positive amount', 'paid_credits');
  const fee: Fee = {
    kind: 'credit',
    chargeId: null,
    metricCode: null,
    filterIndex: null,
    filterValues: null,
    groupedBy: {},
    displayName: t.walletName ? `Prepaid credits (${t.walletName})` : 'Prepaid credits',
    units: t.credits,
    eventsCount: 0,
    unitAmount: t.rateAmount,
    // The exact value is the W1-rounded cents (credits × rate was rounded once when the movement was written).
    preciseAmount: minorToDecimal(t.amountCents, t.currency),
    amountCents: t.amountCents,
    currency: t.currency,
    fromDatetime: t.at,
    toDatetime: t.at,
    prorationRatio: null,
  };
  return { currency: t.currency, fees: [fee], feesAmountCents: t.amountCents, totalAmountCents: t.amountCents };
}
