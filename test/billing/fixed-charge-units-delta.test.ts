// billing/fixed-charges.ts fixedChargeUnitsDeltaFee: a pay-in-advance fixed charge's units raised mid-period with
// apply_units_immediately bills the units not paid yet for the rest of the period. Lago's numbers:
// lago-api spec/services/fees/build_pay_in_advance_fixed_charge_service_spec.rb (plan monthly, subscription started
// 2024-03-01, standard 10.00 a unit, 10 units paid) and spec/scenarios/fixed_charges/pay_in_advance_units_change_spec.rb.
import fc from 'fast-check';
import { fixedChargeUnitsDeltaFee, type FixedCharge } from '../../billing/fixed-charges';

const MARCH = { start: '2024-03-01T00:00:00.000Z', end: '2024-04-01T00:00:00.000Z' };
const PAIR = { period: MARCH, fullPeriod: MARCH };

function charge(over: Partial<FixedCharge> = {}): FixedCharge {
  return {
    id: 'fc-1', code: 'seats', addOnId: 'ao-1', addOnCode: 'seat', addOnName: 'Seat', chargeModel: 'standard',
    payInAdvance: true, prorated: false, invoiceDisplayName: null, properties: { amount: '10' }, units: '10', ...over,
  };
}

const delta = (paidUnits: string, newUnits: string, changeAt: string, over: Partial<FixedCharge> = {}) =>
  fixedChargeUnitsDeltaFee({ fixedCharge: charge(over), paidUnits, newUnits, changeAt, pair: PAIR, timezone: 'UTC', currency: 'USD' });

describe('fixedChargeUnitsDeltaFee (Lago BuildPayInAdvanceFixedChargeService)', () => {
  test.each([
    ['10 paid → 15 on Mar 15, not prorated: 5 units × 10.00 = 50.00', '10', '15', '2024-03-15T00:00:00.000Z', false, 5_000, '5'],
    ['10 + 5 paid → 20, not prorated: 5 units = 50.00', '15', '20', '2024-03-15T00:00:00.000Z', false, 5_000, '5'],
    ['10 + 0 (a decrease) paid → 20: 10 units = 100.00', '10', '20', '2024-03-15T00:00:00.000Z', false, 10_000, '10'],
    ['prorated, 10 paid → 15 on Mar 20: 5 × 10.00 × 12/31 = 19.35', '10', '15', '2024-03-20T00:00:00.000Z', true, 1_935, '5'],
    ['prorated, 10 paid → 15 on Mar 25: 5 × 10.00 × 7/31 = 11.29', '10', '15', '2024-03-25T00:00:00.000Z', true, 1_129, '5'],
    ['prorated, nothing paid → 10 on Mar 15: 10 × 10.00 × 17/31 = 54.84', '0', '10', '2024-03-15T00:00:00.000Z', true, 5_484, '10'],
    ['prorated, nothing paid → 10 on Mar 31: 10 × 10.00 × 1/31 = 3.23', '0', '10', '2024-03-31T00:00:00.000Z', true, 323, '10'],
    ['prorated, a change during the day counts that day: Mar 20 12:00 → 12/31 = 19.35', '10', '15', '2024-03-20T12:00:00.000Z', true, 1_935, '5'],
  ])('%s', (_name, paid, next, at, prorated, cents, units) => {
    const fee = delta(paid, next, at, { prorated });
    expect(fee).toMatchObject({ kind: 'fixed_charge', chargeId: 'fc-1', amountCents: cents, units, fromDatetime: at, toDatetime: MARCH.end });
  });

  test.each([
    ['a decrease (10 → 5) bills nothing (Lago refunds no pay-in-advance units)', '10', '5'],
    ['the same units bill nothing', '10', '10'],
    ['below what was paid after a raise (10 + 5 paid, → 12) bills nothing', '15', '12'],
  ])('%s', (_name, paid, next) => {
    expect(delta(paid, next, '2024-03-15T00:00:00.000Z')).toBeNull();
  });

  test('graduated: the delta priced by the ranges (0–10 at 1.00 + 5.00 flat, then 0.50): 12 units paid → 20 = 8 units → 1.00 × 8 + 5.00 = 13.00', () => {
    const ranges = [
      { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '5' },
      { from_value: 11, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
    ];
    // Lago prices the delta units alone through the model (ChargeModels::Factory on `delta_units`).
    expect(delta('12', '20', '2024-03-15T00:00:00.000Z', { chargeModel: 'graduated', properties: { graduated_ranges: ranges } })?.amountCents).toBe(1_300);
  });

  test('property: standard deltas are additive — raising 10 → a → b in two steps bills what 10 → b bills at once (not prorated)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), (a, b) => {
        const at = '2024-03-15T00:00:00.000Z';
        const first = delta('10', String(10 + a), at)?.amountCents ?? 0;
        const second = delta(String(10 + a), String(10 + a + b), at)?.amountCents ?? 0;
        expect(first + second).toBe(delta('10', String(10 + a + b), at)?.amountCents ?? 0);
      }),
    );
  });
});
