// How the unused advance fee's credit note goes back to the customer on termination (Lago's
// on_termination_credit_note; OpenAPI 1.51 DELETE /subscriptions/:external_id): `credit` puts it all on the
// customer's credit-note balance; `refund` refunds the part that was paid (and not refunded yet) and credits the
// rest ("If the invoice is paid or partially paid, the unused paid amount is refunded; any unpaid unused amount is
// credited back to the customer"). No rounding: integer minor units, credit + refund = the note's total exactly.
import type { ComputedCreditNote, CreditNoteSplit } from './credit-notes';

export type TerminationCreditNoteMode = 'credit' | 'refund';

/** refund = min(total, what the invoice has paid and not yet refunded); credit = the rest; offset 0. */
export function terminationCreditNoteSplit(cn: Pick<ComputedCreditNote, 'totalAmountCents' | 'maxRefundableAmountCents'>, mode: TerminationCreditNoteMode): CreditNoteSplit {
  const refund = mode === 'refund' ? Math.max(0, Math.min(cn.totalAmountCents, cn.maxRefundableAmountCents)) : 0;
  return { creditAmountCents: cn.totalAmountCents - refund, refundAmountCents: refund, offsetAmountCents: 0 };
}
