// The unused part of pay-in-advance FIXED-CHARGE fees, credited at a termination or an upgrade (fixed11, issue 11):
// Lago's rule for the advance subscription fee applied to each advance fixed-charge fee covering the instant (a
// credit note for the unused days; lago-api CreditNotes::CreateFromTermination credits the paid advance fees of the
// subscription). Same arithmetic as the subscription fee's (billing/advance-billing.ts terminationCreditCents /
// upgradeCreditCents: local days, the termination day used, the upgrade day credited, rounded DOWN: A1), one credit
// note per fee with the business key `unused_fee:<fee id>` (activities/credits.ts creditUnusedFee), so a retried
// activity or replayed workflow never credits twice. Called from creditUnusedAdvanceFee (activities/unused-fee-credit.ts),
// which the subscription workflow already calls at every termination and upgrade (behind 'unused-fee-credit-v1'):
// no workflow change. `on_termination_credit_note` (units11): `refund` issues each note with the paid part as its
// refund (billing/termination-refund.ts) and activities/unused-fee-refund.ts refunds every such note through the
// provider, as the subscription fee's; `skip` issues none (the workflow does not call). Lago 1.x itself credits only
// the subscription fee at a termination (CreditNotes::CreateFromTermination): crediting the unused days of advance
// fixed-charge fees is Meterline's, by the same arithmetic.
import type { Knex } from 'knex';
import { terminationCreditCents, upgradeCreditCents } from '../billing/advance-billing';
import { BillingError } from '../billing/errors';
import { instantInZone } from '../billing/period';
import { advanceFixedChargeFeesCovering, fixedChargesForBilling } from '../db/repositories/fixed-charges';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { creditUnusedFee } from './credits';
import type { TerminationCreditNoteMode } from '../billing/termination-refund';
import type { CreditUnusedAdvanceFeeInput, CreditUnusedAdvanceFeeResult } from './unused-fee-credit-types';

/** Credit notes for the unused part of each advance fixed-charge fee covering `input.at` (issued ones only), one per fee. */
export async function creditUnusedAdvanceFixedCharges(
  db: Knex,
  input: CreditUnusedAdvanceFeeInput,
  ctx: SubscriptionBillingContext,
  mode: TerminationCreditNoteMode,
): Promise<CreditUnusedAdvanceFeeResult[]> {
  const ids = (await fixedChargesForBilling(db, input.organizationId, ctx.planId)).filter((c) => c.payInAdvance).map((c) => c.id);
  const fees = await advanceFixedChargeFeesCovering(db, input.organizationId, input.subscriptionId, ids, input.at, input.reason === 'upgrade');
  const out: CreditUnusedAdvanceFeeResult[] = [];
  for (const fee of fees) {
    const paid = { amountCents: fee.amountCents, currency: fee.currency, feePeriod: fee.feePeriod };
    const credit = input.reason === 'upgrade' ? upgradeCreditCents(paid, input.at, ctx.timezone) : terminationCreditCents(paid, input.at, ctx.timezone);
    if (credit.amountCents === 0) continue;
    try {
      const note = await creditUnusedFee(db, {
        organizationId: input.organizationId,
        invoiceId: fee.invoiceId,
        feeId: fee.feeId,
        amountCents: credit.amountCents,
        reason: 'order_change',
        issuingDate: instantInZone(input.at, ctx.timezone, 'at').toFormat('yyyy-MM-dd'),
        mode,
      });
      if (note) out.push({ status: 'issued', creditNoteId: note.id, totalAmountCents: note.totalAmountCents, creditedAmountCents: credit.amountCents });
    } catch (err) {
      // The fee's invoice is still a draft (grace period): nothing final to credit yet.
      if (!(err instanceof BillingError && err.code === 'invoice_not_creditable')) throw err;
    }
  }
  return out;
}
