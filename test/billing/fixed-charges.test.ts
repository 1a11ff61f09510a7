// billing/fixed-charges.ts: a fixed charge's fee for a period from its units timeline, priced by the existing
// charge models. Lago's numbers from lago-api spec/services/fees/fixed_charge_service_spec.rb (subscription started
// 2022-03-17, boundaries Mar 17 – Mar 31 of a 31-day March, EUR).
import { fixedChargeAdvanceFee, fixedChargeFee, fixedChargeFees, fixedChargeIssues, unitsInForceAt, type FixedCharge } from '../../billing/fixed-charges';
import { ratePeriod } from '../../billing/rate-period';
import { charge, plan } from './helpers';

const MARCH = { start: '2022-03-17T00:00:00.000Z', end: '2022-04-01T00:00:00.000Z' };
const FULL_MARCH = { start: '2022-03-01T00:00:00.000Z', end: '2022-04-01T00:00:00.000Z' };
const PAIR = { period: MARCH, fullPeriod: FULL_MARCH };

function fc(over: Partial<FixedCharge>): FixedCharge {
  return {
    id: 'fc-1', code: 'seats', addOnId: 'ao-1', addOnCode: 'seat', addOnName: 'Seat licence', chargeModel: 'standard',
    payInAdvance: false, prorated: false, invoiceDisplayName: null, properties: { amount: '10' }, units: '3', ...over,
  };
}

const fee = (f: FixedCharge, changes: { effectiveAt: string; units: string }[] = [], pair = PAIR) =>
  fixedChargeFee({ fixedCharge: f, changes, pair, timezone: 'UTC', currency: 'EUR' });

describe('fixedChargeFee (Lago fixed_charge_service_spec)', () => {
  test('prorated standard 310 with 10 units from Mar 29: 3 of 31 days → 300.00', () => {
    const f = fee(fc({ prorated: true, units: '0', properties: { amount: '310' } }), [{ effectiveAt: '2022-03-29T00:00:00.000Z', units: '10' }]);
    expect(f).toMatchObject({ kind: 'fixed_charge', amountCents: 300_00, units: '10', unitAmount: '30', currency: 'EUR' });
  });

  test('prorated standard 310 with 10 units set before the period: 15 of 31 days → 1,500.00', () => {
    const f = fee(fc({ prorated: true, units: '0', properties: { amount: '310' } }), [{ effectiveAt: '2022-01-17T00:00:00.000Z', units: '10' }]);
    expect(f.amountCents).toBe(1_500_00);
  });

  test('prorated standard 310 with 10 units from Mar 22: 10 of 31 days → 1,000.00', () => {
    const f = fee(fc({ prorated: true, units: '0', properties: { amount: '310' } }), [{ effectiveAt: '2022-03-22T00:00:00.000Z', units: '10' }]);
    expect(f.amountCents).toBe(1_000_00);
  });

  test('not prorated standard 20 × 10 units → 200.00, whatever day the units were set', () => {
    const f = fee(fc({ properties: { amount: '20' } }), [{ effectiveAt: '2022-03-29T00:00:00.000Z', units: '10' }]);
    expect(f).toMatchObject({ amountCents: 200_00, units: '10', unitAmount: '20', prorationRatio: null });
  });

  test('not prorated graduated: the units in force at the period end (62 then 3.1) → 10 + 3.1 × 0.1 = 10.31', () => {
    const ranges = [
      { from_value: 0, to_value: 5, per_unit_amount: '0.1', flat_amount: '10' },
      { from_value: 6, to_value: null, per_unit_amount: '2', flat_amount: '20' },
    ];
    const f = fee(fc({ chargeModel: 'graduated', units: '0', properties: { graduated_ranges: ranges } }), [
      { effectiveAt: '2022-03-22T00:00:00.000Z', units: '62' },
      { effectiveAt: '2022-03-27T00:00:00.000Z', units: '3.1' },
    ]);
    expect(f).toMatchObject({ amountCents: 10_31, units: '3.1' });
  });

  test('prorated volume: 31 units × 5/31 + 3.1 units × 5/31 = 5.5 units → 10 + 0.1 × 5.5 = 10.55 (flat not prorated)', () => {
    const ranges = [
      { from_value: 0, to_value: 10, per_unit_amount: '0.1', flat_amount: '10' },
      { from_value: 11, to_value: null, per_unit_amount: '2', flat_amount: '20' },
    ];
    const f = fee(fc({ chargeModel: 'volume', prorated: true, units: '0', properties: { volume_ranges: ranges } }), [
      { effectiveAt: '2022-03-22T00:00:00.000Z', units: '31' },
      { effectiveAt: '2022-03-27T00:00:00.000Z', units: '3.1' },
    ]);
    expect(f.amountCents).toBe(10_55);
  });

  test('zero units bill nothing, even with a graduated first-tier flat amount', () => {
    const f = fee(fc({ chargeModel: 'graduated', units: '0', properties: { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '5' }] } }));
    expect(f.amountCents).toBe(0);
  });

  test('rounding FC1: the line is rounded once half-up (3 × 0.335 = 1.005 → 1.01)', () => {
    const f = fee(fc({ properties: { amount: '0.335' } }));
    expect(f).toMatchObject({ preciseAmount: '1.005', amountCents: 101 });
  });
});

describe('units over time', () => {
  const f = fc({});
  test('the units in force are the last change at or before the instant, else the plan units', () => {
    const changes = [{ effectiveAt: '2022-03-20T00:00:00.000Z', units: '5' }, { effectiveAt: '2022-03-10T00:00:00.000Z', units: '4' }];
    expect(unitsInForceAt(f, changes, '2022-03-01T00:00:00.000Z')).toBe('3');
    expect(unitsInForceAt(f, changes, '2022-03-10T00:00:00.000Z')).toBe('4');
    expect(unitsInForceAt(f, changes, '2022-03-25T00:00:00.000Z')).toBe('5');
  });

  test('an advance fee uses the units in force at its period start: a change inside the period waits for the next one', () => {
    const adv = fc({ payInAdvance: true });
    const full = { period: FULL_MARCH, fullPeriod: FULL_MARCH };
    const a = fixedChargeAdvanceFee({ fixedCharge: adv, changes: [{ effectiveAt: '2022-03-10T00:00:00.000Z', units: '7' }], pair: full, timezone: 'UTC', currency: 'EUR' });
    expect(a).toMatchObject({ units: '3', amountCents: 30_00 });
  });

  test('a prorated advance fee of a partial first period is days remaining / days of the month (15/31 of 3 × 31.00 = 45.00)', () => {
    const adv = fc({ payInAdvance: true, prorated: true, properties: { amount: '31' } });
    const a = fixedChargeAdvanceFee({ fixedCharge: adv, changes: [], pair: PAIR, timezone: 'UTC', currency: 'EUR' });
    expect(a.amountCents).toBe(45_00);
  });
});

describe('fixedChargeFees and ratePeriod', () => {
  const arrears = fc({ id: 'fc-a', code: 'a' });
  const advance = fc({ id: 'fc-b', code: 'b', payInAdvance: true, units: '1', properties: { amount: '100' } });
  const APRIL = { period: { start: '2022-04-01T00:00:00.000Z', end: '2022-05-01T00:00:00.000Z' }, fullPeriod: { start: '2022-04-01T00:00:00.000Z', end: '2022-05-01T00:00:00.000Z' } };

  test('an invoice bills in-arrears fixed charges over the ended period and pay-in-advance ones over the next', () => {
    const fees = fixedChargeFees({ charges: [arrears, advance], changes: {}, arrears: PAIR, advance: APRIL }, 'UTC', 'EUR', false);
    expect(fees.map((f) => [f.chargeId, f.fromDatetime, f.amountCents])).toEqual([
      ['fc-a', MARCH.start, 30_00],
      ['fc-b', APRIL.period.start, 100_00],
    ]);
  });

  test('ratePeriod appends fixed_charge lines to the invoice total but not to the usage amount', () => {
    const p = plan([charge('standard', { amount: '1' })], { amountCents: 0, amountCurrency: 'EUR' });
    const rated = ratePeriod({
      plan: p, kind: 'subscription', payInAdvanceCharges: 'per_event', timezone: 'UTC', period: MARCH, fullPeriod: FULL_MARCH,
      chargeSubscriptionFee: false, usage: [], fixedCharges: { charges: [arrears], changes: {}, arrears: PAIR, advance: null },
    });
    expect(rated.draft.fees.filter((f) => f.kind === 'fixed_charge').map((f) => f.amountCents)).toEqual([30_00]);
    expect(rated.draft.totalAmountCents).toBe(30_00);
    expect(rated.usageAmountCents).toBe(0);
  });
});

describe('fixedChargeIssues', () => {
  test('refuses a model other than standard / graduated / volume, negative units, and graduated prorated in advance', () => {
    expect(fixedChargeIssues({ chargeModel: 'package', units: '1', properties: {}, payInAdvance: false, prorated: false }, 'fixed_charges[0].')).toEqual([
      { field: 'fixed_charges[0].charge_model', code: 'value_is_invalid' },
    ]);
    expect(fixedChargeIssues({ chargeModel: 'standard', units: '-1', properties: { amount: '1' }, payInAdvance: false, prorated: false }, '')).toEqual([
      { field: 'units', code: 'value_is_invalid' },
    ]);
    const g = { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '0' }] };
    expect(fixedChargeIssues({ chargeModel: 'graduated', units: 1, properties: g, payInAdvance: true, prorated: true }, '')).toEqual([
      { field: 'prorated', code: 'invalid_prorated_graduated_in_advance' },
    ]);
    expect(fixedChargeIssues({ chargeModel: 'standard', units: 2, properties: {}, payInAdvance: false, prorated: false }, '').map((i) => i.field)).toEqual(['properties.amount']);
  });
});
