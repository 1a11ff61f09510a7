// Lago's on_termination_credit_note=refund (issue 11): the unused advance fee's credit note issued with the paid part
// as refund_amount (the rest credited, billing/termination-refund.ts), then refunded through the organization's
// payment provider by the credit notes' one refund path (activities/credits.ts refundCreditNote: one refund row per
// note, the key `credit_note:<id>:refund`, the provider asked by metadata before each send). Idempotent on the fee
// (the note's business key `unused_fee:<fee id>`) and on the note (its refund row): a retried activity or a
// replayed workflow issues one note and one refund. Called by workflows/unused-fee-credit.ts (patch
// unused-fee-refund-v1). A transient provider fault leaves the refund `pending` with its error (retried by a later
// call); a permanent refusal marks it `failed` and sends credit_note.refund_failure — the termination goes on.
import type { Knex } from 'knex';
import { getCreditNote } from '../db/repositories/credit-notes';
import { getProviderConfig, type ProviderConfig } from '../db/repositories/payments';
import { refundCreditNote } from './credits';
import { classified } from './invoices';
import type { PaymentProvider } from './payment-provider';
import { creditUnusedAdvanceFees } from './unused-fee-credit';
import type { CreditUnusedAdvanceFeeInput, RefundUnusedAdvanceFeeResult, UnusedFeeRefundActivities } from './unused-fee-credit-types';

export interface UnusedFeeRefundDeps {
  db: Knex;
  /** The organization's provider adapter (production: Stripe SDK; tests: the Stripe fake). */
  providerFor(config: ProviderConfig): PaymentProvider;
}

/**
 * Every unused-fee note (the subscription fee's and, units11, each advance fixed charge's: one path) issued with its
 * paid part as refund, and each refunded. The answer: the subscription fee's note (else the first fixed charge's),
 * with the refund amounts summed and the worst refund state (failed, then pending).
 */
export async function refundUnusedAdvanceFee(deps: UnusedFeeRefundDeps, input: CreditUnusedAdvanceFeeInput): Promise<RefundUnusedAdvanceFeeResult> {
  const { subscriptionFee, fixedCharges } = await creditUnusedAdvanceFees(deps.db, input, 'refund');
  const issued = [subscriptionFee, ...fixedCharges].filter((r) => r.status === 'issued' && r.creditNoteId !== null);
  const first = subscriptionFee.status !== 'nothing_to_credit' ? subscriptionFee : (fixedCharges[0] ?? subscriptionFee);
  let refundAmountCents = 0;
  const states: NonNullable<RefundUnusedAdvanceFeeResult['refundStatus']>[] = [];
  let provider: PaymentProvider | null | undefined;
  for (const r of issued) {
    const note = (await getCreditNote(deps.db, input.organizationId, r.creditNoteId!))!;
    if (note.refundAmountCents === 0) continue;
    if (provider === undefined) {
      const config = await getProviderConfig(deps.db, input.organizationId);
      provider = config ? deps.providerFor(config) : null;
    }
    const refunded = await refundCreditNote(deps.db, provider, note);
    refundAmountCents += refunded.refundAmountCents;
    if (refunded.refundStatus) states.push(refunded.refundStatus);
  }
  const refundStatus = states.length === 0 ? null : (['failed', 'pending', 'succeeded'] as const).find((s) => states.includes(s))!;
  return { ...first, refundAmountCents, refundStatus };
}

export function createUnusedFeeRefundActivities(deps: UnusedFeeRefundDeps): UnusedFeeRefundActivities {
  return {
    async refundUnusedAdvanceFee(input) {
      return classified(() => refundUnusedAdvanceFee(deps, input));
    },
  };
}
