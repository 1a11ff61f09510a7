// The credit note for the unused part of a pay-in-advance fee (issue 11), the subscription workflow's side, behind
// `patched('unused-fee-credit-v1')`: runs that reached a termination or an upgrade before the patch never call it.
//
// - Termination (DELETE /subscriptions/:id, ending_at): after the termination invoice is written and BEFORE its
//   invoice workflow starts, so the credit note is available when that invoice is finalized and lowers it (Lago:
//   the termination invoice's credit_notes_amount_cents); with `on_termination_invoice: skip`, before the row is
//   marked terminated. Lago's `on_termination_credit_note: skip` issues none.
// - Upgrade: after the old plan's period is invoiced, before the plan change is applied (the old plan's fee).
// One activity, creditUnusedAdvanceFee (activities/unused-fee-credit.ts), idempotent on the fee. A business failure
// is logged and never blocks the termination or the upgrade (the credit can be issued by hand: POST /credit_notes).
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { UnusedFeeCreditActivities, UnusedFeeRefundActivities, CreditUnusedAdvanceFeeInput } from '../activities/unused-fee-credit-types';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

export const UNUSED_FEE_CREDIT_PATCH = 'unused-fee-credit-v1';
/** on_termination_credit_note=refund: the paid part refunded through the provider (activities/unused-fee-refund.ts). */
export const UNUSED_FEE_REFUND_PATCH = 'unused-fee-refund-v1';

const activities = proxyActivities<UnusedFeeCreditActivities & UnusedFeeRefundActivities>(ACTIVITY_OPTIONS);

/** Lago's on_termination_credit_note (pay-in-advance plans only). */
export type OnTerminationCreditNote = 'credit' | 'refund' | 'skip';

/** Credits the unused part of the advance fee covering `input.at` (see the header). No-op for runs before the patch. */
export async function creditUnusedAdvanceFee(input: CreditUnusedAdvanceFeeInput, option: OnTerminationCreditNote = 'credit'): Promise<void> {
  if (option === 'skip' || !patched(UNUSED_FEE_CREDIT_PATCH)) return;
  try {
    // refund (patched 'unused-fee-refund-v1'): refund what was paid, credit the rest. Runs from before the patch
    // never got `refund` (the API refused it), so the patch only guards the new activity's place in the history.
    const result = option === 'refund' && patched(UNUSED_FEE_REFUND_PATCH) ? await activities.refundUnusedAdvanceFee(input) : await activities.creditUnusedAdvanceFee(input);
    if (result.status !== 'issued') log.info('No credit note for the unused advance fee', { status: result.status, reason: input.reason });
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Crediting the unused advance fee failed with a business failure; the termination / upgrade goes on', { type: failure.type, message: failure.message });
  }
}
