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

/** The subscription fee's note when there is one, else the first fixed charge's (the activity's one answer). */
export async function creditUnusedAdvanceFee(db: Knex, input: CreditUnusedAdvanceFeeInput, mode: TerminationCreditNoteMode = 'credit'): Promise<CreditUnusedAdvanceFeeResult> {
  const { subscriptionFee, fixedCharges } = await creditUnusedAdvanceFees(db, input, mode);
  return subscriptionFee.status !== 'nothing_to_credit' ? subscriptionFee : (fixedCharges[0] ?? NOTHING);
}

/**
 * Every credit note for the unused advance fees covering `input.at`: the subscription fee's and (fixed11) each
 * advance fixed-charge fee's (activities/fixed-charge-credits.ts, whatever the plan's fee). `mode` refund
 * (activities/unused-fee-refund.ts): each note's paid part is refunded, the rest credited (billing/termination-refund).
 */
export async function creditUnusedAdvanceFees(
  db: Knex,
  input: CreditUnusedAdvanceFeeInput,
  mode: TerminationCreditNoteMode,
): Promise<{ subscriptionFee: CreditUnusedAdvanceFeeResult; fixedCharges: CreditUnusedAdvanceFeeResult[] }> {
  const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
  const plan = await loadPlan(db, input.organizationId, ctx.planId);
  const fixedCharges = await creditUnusedAdvanceFixedCharges(db, input, ctx, mode);
  return { subscriptionFee: plan.payInAdvance ? await creditUnusedSubscriptionFee(db, input, ctx.timezone, mode) : NOTHING, fixedCharges };
}

/** The subscription fee's note. Lago: only pay-in-advance plans have a paid fee to credit (the option is ignored for plans in arrears). */
async function creditUnusedSubscriptionFee(db: Knex, input: CreditUnusedAdvanceFeeInput, timezone: string, mode: TerminationCreditNoteMode): Promise<CreditUnusedAdvanceFeeResult> {
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
      issuingDate: instantInZone(input.at, timezone, 'at').toFormat('yyyy-MM-dd'),
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
