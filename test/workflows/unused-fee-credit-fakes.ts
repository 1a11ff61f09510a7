// Fake of the unused advance fee credit activity (activities/unused-fee-credit.ts), shaped like the real one.
import type { CreditUnusedAdvanceFeeInput, UnusedFeeCreditActivities } from '../../activities/unused-fee-credit-types';

export function fakeUnusedFeeCreditActivities(): { activities: UnusedFeeCreditActivities; calls: CreditUnusedAdvanceFeeInput[] } {
  const calls: CreditUnusedAdvanceFeeInput[] = [];
  return {
    calls,
    activities: {
      async creditUnusedAdvanceFee(input) {
        calls.push(input);
        return { status: 'issued', creditNoteId: `cn-${calls.length}`, totalAmountCents: 2500, creditedAmountCents: 2500 };
      },
    },
  };
}
