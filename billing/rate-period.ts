// ratePeriod: the one pure step "a period's usage → priced lines and totals" (DESIGN "Invoice to cash": usage
// (one reader, usage/) → fees (this) → progressive-billing credit → coupons → taxes → credits). Every caller
// rates a period through it: the period close, the draft refresh and the finalization (activities/invoices.ts),
// progressive billing and the confirmed usage of thresholds and alerts (activities/thresholds.ts), GET
// current_usage (api/services/current-usage.ts), the invoice preview (api/services/invoice-preview.ts) and the
// subscription workflow's live estimate (workflows/subscription.ts). Later money steps (taxes, coupons,
// credits, FX) plug in after it, never as a second copy of it.
//
// Two rules live here and nowhere else:
// - Pay-in-advance charges (`payInAdvanceCharges`): on an invoice they are billed per event
//   (billing/rateInAdvanceEvent) and skipped here ('per_event'); everything that shows the whole cost of a period
//   (current usage, preview, thresholds, the estimate) prices them IN ARREARS on the period's total usage
//   ('on_period_total'), which equals the sum of their per-event fees by construction of rateInAdvanceEvent.
// - The period's usage amount = Σ of its rounded `charge` lines (integer minor units; no subscription fee, no
//   minimum true-ups, no progressive-billing credit), as Lago's current usage computes it.
//
// No rounding of its own: lines are rounded once each by buildInvoice (billing/README.md R1, R2).
import { BillingError } from './errors';
import { fixedChargeCommitmentCents, fixedChargeFees, type FixedChargesToRate } from './fixed-charges';
import { buildInvoice, withExtraFees, type Fee, type InvoiceDraft, type InvoiceInput } from './invoice';
import type { Charge, Plan } from './types';

/** How pay-in-advance charges are rated for this period (see the header). */
export type PayInAdvanceCharges = 'per_event' | 'on_period_total';

export interface RatePeriodInput extends Omit<InvoiceInput, 'currency'> {
  /** Invoice currency; default the plan's. */
  currency?: string;
  payInAdvanceCharges: PayInAdvanceCharges;
  /** Fixed charges (billing/fixed-charges.ts) and the periods they are billed for; absent: none. */
  fixedCharges?: FixedChargesToRate;
}

export interface RatedPeriod {
  /** The plan as priced (with 'on_period_total', its pay-in-advance charges turned in arrears). */
  plan: Plan;
  draft: InvoiceDraft;
  /** The draft's `charge` lines (one per usage bucket, rounded once each). */
  chargeFees: Fee[];
  /** Σ chargeFees' amountCents: the period's usage amount. */
  usageAmountCents: number;
}

/** The plan as rated under `policy`: with 'on_period_total', every pay-in-advance charge is priced in arrears. */
export function planAsRated(plan: Plan, policy: PayInAdvanceCharges): Plan {
  if (policy === 'per_event' || !plan.charges.some((c) => c.payInAdvance)) return plan;
  return { ...plan, charges: plan.charges.map((c) => (c.payInAdvance ? { ...c, payInAdvance: false } : c)) };
}

/** The charges whose usage a period rated under `policy` needs (what a usage reader must read). */
export function chargesToRead(plan: Plan, policy: PayInAdvanceCharges): Charge[] {
  return planAsRated(plan, policy).charges.filter((c) => !c.payInAdvance);
}

/** The usage amount of a set of lines: Σ of their `charge` lines, a safe integer of minor units. */
export function usageAmountCents(fees: Fee[]): number {
  let total = 0;
  for (const f of fees) if (f.kind === 'charge') total += f.amountCents;
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'Usage amount is not a safe integer');
  return total;
}

/** Rates one period: plan + usage + period (+ full period, timezone, options) → priced lines and totals. Pure. */
export function ratePeriod(input: RatePeriodInput): RatedPeriod {
  const { payInAdvanceCharges, currency, fixedCharges, ...rest } = input;
  const plan = planAsRated(input.plan, payInAdvanceCharges);
  const invoiceCurrency = currency ?? plan.amountCurrency;
  // Fixed charges: appended after the plan's lines (fee_type fixed_charge; not usage, so not in usageAmountCents).
  // 'on_period_total' prices the pay-in-advance ones over the rated period too (the period's whole cost).
  // Lago counts the period's fixed-charge fees toward the minimum commitment (fixedChargeCommitmentCents).
  const fixedFees = fixedCharges ? fixedChargeFees(fixedCharges, input.timezone, invoiceCurrency, payInAdvanceCharges === 'on_period_total') : [];
  const fixedCents = fixedCharges ? fixedChargeCommitmentCents(fixedCharges, fixedFees) : 0;
  const built = buildInvoice({ ...rest, plan, currency: invoiceCurrency, ...(fixedCents !== 0 ? { fixedChargeFeesAmountCents: fixedCents } : {}) });
  const draft = fixedCharges ? withExtraFees(built, fixedFees) : built;
  const chargeFees = draft.fees.filter((f) => f.kind === 'charge');
  return { plan, draft, chargeFees, usageAmountCents: usageAmountCents(chargeFees) };
}
