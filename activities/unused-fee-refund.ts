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
import { creditUnusedAdvanceFee } from './unused-fee-credit';
import type { CreditUnusedAdvanceFeeInput, RefundUnusedAdvanceFeeResult, UnusedFeeRefundActivities } from './unused-fee-credit-types';

export interface UnusedFeeRefundDeps {
  db: Knex;
  /** The organization's provider adapter (production: Stripe SDK; tests: the Stripe fake). */
  providerFor(config: ProviderConfig): PaymentProvider;
}

export async function refundUnusedAdvanceFee(deps: UnusedFeeRefundDeps, input: CreditUnusedAdvanceFeeInput): Promise<RefundUnusedAdvanceFeeResult> {
  const issued = await creditUnusedAdvanceFee(deps.db, input, 'refund');
  if (issued.status !== 'issued' || issued.creditNoteId === null) return { ...issued, refundAmountCents: 0, refundStatus: null };
  const note = (await getCreditNote(deps.db, input.organizationId, issued.creditNoteId))!;
  if (note.refundAmountCents === 0) return { ...issued, refundAmountCents: 0, refundStatus: null };
  const config = await getProviderConfig(deps.db, input.organizationId);
  const refunded = await refundCreditNote(deps.db, config ? deps.providerFor(config) : null, note);
  return { ...issued, refundAmountCents: refunded.refundAmountCents, refundStatus: refunded.refundStatus };
}

export function createUnusedFeeRefundActivities(deps: UnusedFeeRefundDeps): UnusedFeeRefundActivities {
  return {
    async refundUnusedAdvanceFee(input) {
      return classified(() => refundUnusedAdvanceFee(deps, input));
    },
  };
}
