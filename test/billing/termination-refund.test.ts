// billing/termination-refund.ts: Lago's on_termination_credit_note refund / credit split of the unused fee's note.
import fc from 'fast-check';
import { terminationCreditNoteSplit } from '../../billing/termination-refund';

test.each([
  // [total, paid and not refunded, mode, credit, refund]
  [2500, 7500, 'refund', 0, 2500], // start invoice fully paid: the whole unused part refunded
  [2500, 1000, 'refund', 1500, 1000], // partially paid: the paid part refunded, the unpaid rest credited
  [2500, 0, 'refund', 2500, 0], // unpaid: credited
  [2500, 7500, 'credit', 2500, 0], // credit: never refunds
] as const)('total %i, refundable %i, %s → credit %i, refund %i', (total, refundable, mode, credit, refund) => {
  expect(terminationCreditNoteSplit({ totalAmountCents: total, maxRefundableAmountCents: refundable }, mode)).toEqual({ creditAmountCents: credit, refundAmountCents: refund, offsetAmountCents: 0 });
});

test('the split always sums to the note total exactly and never refunds more than was paid', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), fc.constantFrom('refund' as const, 'credit' as const), (total, refundable, mode) => {
      const s = terminationCreditNoteSplit({ totalAmountCents: total, maxRefundableAmountCents: refundable }, mode);
      expect(s.creditAmountCents + s.refundAmountCents + s.offsetAmountCents).toBe(total);
      expect(s.refundAmountCents).toBeLessThanOrEqual(refundable);
      expect(s.creditAmountCents).toBeGreaterThanOrEqual(0);
    }),
  );
});
