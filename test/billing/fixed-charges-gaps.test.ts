// The fixed-charge gaps of issue 11 (fixed11), pure parts: fixed-charge fees count toward the plan's minimum
// commitment (Lago's Commitments::Minimum::CalculateTrueUpFeeService sums fixed_charge fees, in arrears and in
// advance, with the subscription and charge fees of the period).
import { fixedChargeCommitmentCents, fixedChargeFees, type FixedCharge } from '../../billing/fixed-charges';
import { ratePeriod } from '../../billing/rate-period';
import { plan } from './helpers';

const MARCH = { start: '2022-03-01T00:00:00.000Z', end: '2022-04-01T00:00:00.000Z' };
const APRIL = { start: '2022-04-01T00:00:00.000Z', end: '2022-05-01T00:00:00.000Z' };
const PAIR = { period: MARCH, fullPeriod: MARCH };
const NEXT = { period: APRIL, fullPeriod: APRIL };

function fc(over: Partial<FixedCharge>): FixedCharge {
  return {
    id: 'fc-1', code: 'seats', addOnId: 'ao-1', addOnCode: 'seat', addOnName: 'Seat licence', chargeModel: 'standard',
    payInAdvance: false, prorated: false, invoiceDisplayName: null, properties: { amount: '10' }, units: '3', ...over,
  };
}
const arrears = fc({ id: 'fc-a', code: 'a' }); // 3 × 10.00 = 30.00 in arrears
const advance = fc({ id: 'fc-b', code: 'b', payInAdvance: true, units: '1', properties: { amount: '25' } }); // 25.00 in advance

function close(minimumCommitmentAmountCents: number, paidEarlierCents?: number, policy: 'per_event' | 'on_period_total' = 'per_event') {
  const p = plan([], { amountCents: 20_00, amountCurrency: 'EUR', minimumCommitmentAmountCents });
  return ratePeriod({
    plan: p, kind: 'subscription', payInAdvanceCharges: policy, timezone: 'UTC', period: MARCH, fullPeriod: MARCH,
    chargeSubscriptionFee: true, usage: [],
    fixedCharges: { charges: [arrears, advance], changes: {}, arrears: PAIR, advance: policy === 'per_event' ? NEXT : null, ...(paidEarlierCents !== undefined ? { paidEarlierCents } : {}) },
  }).draft;
}
const trueUp = (d: ReturnType<typeof close>) => d.fees.find((f) => f.kind === 'minimum_commitment')?.amountCents ?? 0;

describe('minimum commitment counts the period\'s fixed-charge fees', () => {
  test('fee 20.00 + in-arrears fixed 30.00 + advance fixed 25.00 paid at the period start vs a 100.00 commitment → true-up 25.00', () => {
    const d = close(100_00, 25_00);
    expect(trueUp(d)).toBe(25_00);
    // The invoice also carries April's advance fee (25.00): it belongs to April's commitment, not March's.
    expect(d.fees.filter((f) => f.kind === 'fixed_charge').map((f) => [f.chargeId, f.fromDatetime, f.amountCents])).toEqual([
      ['fc-a', MARCH.start, 30_00],
      ['fc-b', APRIL.start, 25_00],
    ]);
    expect(d.totalAmountCents).toBe(20_00 + 30_00 + 25_00 + 25_00);
  });

  test('without the advance fee billed earlier (nothing paid for March) the true-up is 50.00', () => {
    expect(trueUp(close(100_00))).toBe(50_00);
  });

  test('fixed charges reaching the commitment leave no true-up', () => {
    expect(trueUp(close(75_00, 25_00))).toBe(0);
    expect(trueUp(close(76_00, 25_00))).toBe(1_00);
  });

  test('rating the whole period (preview, current cost): every fixed charge over the period counts once', () => {
    // 20 + 30 + 25 (advance priced over March) = 75.00; nothing is "paid earlier" in that mode.
    expect(trueUp(close(100_00, undefined, 'on_period_total'))).toBe(25_00);
  });

  test('fixedChargeCommitmentCents counts only fees over the arrears period, plus what was paid earlier', () => {
    const f = { charges: [arrears, advance], changes: {}, arrears: PAIR, advance: NEXT, paidEarlierCents: 7 };
    expect(fixedChargeCommitmentCents(f, fixedChargeFees(f, 'UTC', 'EUR', false))).toBe(30_00 + 7);
    expect(fixedChargeCommitmentCents({ ...f, arrears: null }, fixedChargeFees({ ...f, arrears: null }, 'UTC', 'EUR', false))).toBe(0);
  });
});
