// The activity of workflows/unused-fee-credit.ts: plain JSON in and out.

export interface CreditUnusedAdvanceFeeInput {
  organizationId: string;
  subscriptionId: string;
  /** The termination or upgrade instant (ISO UTC). */
  at: string;
  /** Lago: on termination the termination day is used (not credited); on an upgrade it is credited too. */
  reason: 'termination' | 'upgrade';
}

export interface CreditUnusedAdvanceFeeResult {
  /**
   * issued: a credit note for the unused part of the advance fee (or the one issued earlier for that fee);
   * nothing_to_credit: no advance fee covers `at` (arrears plan, trial, voided invoice) or its unused part is 0;
   * invoice_not_finalized: the fee's invoice is still a draft (nothing credited: it can still be refreshed).
   */
  status: 'issued' | 'nothing_to_credit' | 'invoice_not_finalized';
  creditNoteId: string | null;
  /** The credit note's total (taxes included), minor units; 0 when none. */
  totalAmountCents: number;
  /** The unused part before taxes (billing/ terminationCreditCents / upgradeCreditCents), minor units. */
  creditedAmountCents: number;
}

export interface UnusedFeeCreditActivities {
  /** The unused part of the pay-in-advance subscription fee covering `at`, credited once per fee (credit note). */
  creditUnusedAdvanceFee(input: CreditUnusedAdvanceFeeInput): Promise<CreditUnusedAdvanceFeeResult>;
}

/** Lago's on_termination_credit_note=refund (activities/unused-fee-refund.ts). */
export interface RefundUnusedAdvanceFeeResult extends CreditUnusedAdvanceFeeResult {
  /** The note's refund_amount_cents: what the fee's invoice had paid (and not refunded), at most the note's total. */
  refundAmountCents: number;
  /** The refund's state after this call (null when nothing is refunded: unpaid invoice, no note). */
  refundStatus: 'pending' | 'succeeded' | 'failed' | null;
}

export interface UnusedFeeRefundActivities {
  /** The unused advance fee's credit note with its paid part refunded through the provider, the rest credited. */
  refundUnusedAdvanceFee(input: CreditUnusedAdvanceFeeInput): Promise<RefundUnusedAdvanceFeeResult>;
}
