// The unused part of a pay-in-advance subscription fee, credited back when the subscription is terminated or
// upgraded mid-period (Lago's CreditNotes::CreateFromTermination; issue 11). The amount is billing/'s
// (terminationCreditCents / upgradeCreditCents through unusedAdvanceFeeCredit: prorated by local days, rounded
// down, rounding point A1); the credit note is the credits module's creditUnusedFee (one per fee: business key
// `unused_fee:<fee id>`, so a retried activity or a replayed workflow never credits twice). Taxes follow the
// credited fee's (computeCreditNote). Called by workflows/unused-fee-credit.ts.
import type { Knex } from 'knex';
import { BillingError } from '../billing/errors';
import { instantInZone } from '../billing/period';
import type { TerminationCreditNoteMode } from '../billing/termination-refund';
import { loadPlan } from '../db/repositories/plans';
import { loadSubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { unusedAdvanceFeeCredit } from './advance-billing';
import { creditUnusedFee } from './credits';
import { creditUnusedAdvanceFixedCharges } from './fixed-charge-credits';
import { classified } from './invoices';
import type { CreditUnusedAdvanceFeeInput, CreditUnusedAdvanceFeeResult, UnusedFeeCreditActivities } from './unused-fee-credit-types';

const NOTHING: CreditUnusedAdvanceFeeResult = { status: 'nothing_to_credit', creditNoteId: null, totalAmountCents: 0, creditedAmountCents: 0 };

/** `mode` refund (activities/unused-fee-refund.ts): the paid part is refunded, the rest credited (billing/termination-refund). */
export async function creditUnusedAdvanceFee(db: Knex, input: CreditUnusedAdvanceFeeInput, mode: TerminationCreditNoteMode = 'credit'): Promise<CreditUnusedAdvanceFeeResult> {
  const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
  const plan = await loadPlan(db, input.organizationId, ctx.planId);
  // fixed11: the unused part of advance fixed-charge fees (activities/fixed-charge-credits.ts), whatever the plan's fee.
  const fixed = await creditUnusedAdvanceFixedCharges(db, input, ctx);
  // Lago: only pay-in-advance plans have a paid fee to credit (the option is ignored for plans in arrears).
  if (!plan.payInAdvance) return fixed[0] ?? NOTHING;
  const unused = await unusedAdvanceFeeCredit(db, { organizationId: input.organizationId, subscriptionId: input.subscriptionId, terminatedAt: input.at, reason: input.reason });
  if (!unused || unused.credit.amountCents === 0) return NOTHING;
  try {
    const note = await creditUnusedFee(db, {
      organizationId: input.organizationId,
      invoiceId: unused.invoiceId,
      feeId: unused.feeId,
      amountCents: unused.credit.amountCents,
      // Lago's reason for the credit note of a termination or an upgrade.
      reason: 'order_change',
      issuingDate: instantInZone(input.at, ctx.timezone, 'at').toFormat('yyyy-MM-dd'),
      mode,
    });
    if (!note) return NOTHING;
    return { status: 'issued', creditNoteId: note.id, totalAmountCents: note.totalAmountCents, creditedAmountCents: unused.credit.amountCents };
  } catch (err) {
    // The fee's invoice is still in its grace period (a draft): there is nothing final to credit yet.
    if (err instanceof BillingError && err.code === 'invoice_not_creditable') return { ...NOTHING, status: 'invoice_not_finalized' };
    throw err;
  }
}

export function createUnusedFeeCreditActivities(deps: { db: Knex }): UnusedFeeCreditActivities {
  return {
    async creditUnusedAdvanceFee(input) {
      return classified(() => creditUnusedAdvanceFee(deps.db, input));
    },
  };
}
