// Fake of the unused advance fee credit activity (activities/unused-fee-credit.ts) and of its refund variant
// (activities/unused-fee-refund.ts, on_termination_credit_note=refund), shaped like the real ones.
import type { CreditUnusedAdvanceFeeInput, UnusedFeeCreditActivities, UnusedFeeRefundActivities } from '../../activities/unused-fee-credit-types';

export function fakeUnusedFeeCreditActivities(): { activities: UnusedFeeCreditActivities & UnusedFeeRefundActivities; calls: CreditUnusedAdvanceFeeInput[]; refunds: CreditUnusedAdvanceFeeInput[] } {
  const calls: CreditUnusedAdvanceFeeInput[] = [];
  const refunds: CreditUnusedAdvanceFeeInput[] = [];
  return {
    calls,
    refunds,
    activities: {
      async creditUnusedAdvanceFee(input) {
        calls.push(input);
        return { status: 'issued', creditNoteId: `cn-${calls.length}`, totalAmountCents: 2500, creditedAmountCents: 2500 };
      },
      // The paid start invoice: the whole unused part refunded.
      async refundUnusedAdvanceFee(input) {
        refunds.push(input);
        return { status: 'issued', creditNoteId: `cn-refund-${refunds.length}`, totalAmountCents: 2500, creditedAmountCents: 2500, refundAmountCents: 2500, refundStatus: 'succeeded' };
      },
    },
  };
}
