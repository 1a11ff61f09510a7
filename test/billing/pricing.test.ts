import fc from 'fast-check';
import { rateBucket, type ChargeModel, type ChargeProperties } from '../../billing';
import { D } from '../../billing/money';
import { bucket, charge } from './helpers';

const rate = (model: ChargeModel, props: ChargeProperties, units: string, eventsCount = 1, values?: string[]) =>
  rateBucket(charge(model, props), props, bucket(units, eventsCount, values), { currency: 'USD' });

// lago-api spec/services/charge_models/graduated_service_spec.rb (classic ranges)
const GRADUATED = {
  graduated_ranges: [
    { from_value: 0, to_value: 10, per_unit_amount: '10', flat_amount: '2' },
    { from_value: 11, to_value: 20, per_unit_amount: '5', flat_amount: '3' },
    { from_value: 21, to_value: null, per_unit_amount: '5', flat_amount: '3' },
  ],
};
// lago-api spec/services/charge_models/volume_service_spec.rb
const VOLUME = {
  volume_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '2', flat_amount: '10' },
    { from_value: 101, to_value: 200, per_unit_amount: '1', flat_amount: '0' },
    { from_value: 201, to_value: null, per_unit_amount: '0.5', flat_amount: '50' },
  ],
};
// lago-api spec/services/charge_models/graduated_percentage_service_spec.rb
const GRAD_PCT = {
  graduated_percentage_ranges: [
    { from_value: 0, to_value: 10, flat_amount: '200', rate: '1' },
    { from_value: 11, to_value: 20, flat_amount: '300', rate: '2' },
    { from_value: 21, to_value: null, flat_amount: '400', rate: '3' },
  ],
};

describe('standard', () => {
  it.each([
    ['0.000002', '123456789', '246.913578'],
    ['12.5', '0', '0'],
    ['0.01', '3.5', '0.035'],
  ])('amount %s × %s units = %s', (amount, units, expected) => {
    expect(rate('standard', { amount }, units).amount).toBe(expected);
  });
});

describe('graduated (Lago spec numbers)', () => {
  it.each([
    ['0', '2'], // 2026 Lago: first tier flat fee at zero units
    ['1', '12'],
    ['10', '102'],
    ['11', '110'],
    ['12', '115'],
    ['21', '163'],
    ['10.5', '107.5'], // 102 + 0.5×5 + 3
  ])('%s units -> %s', (units, amount) => {
    expect(rate('graduated', GRADUATED, units).amount).toBe(amount);
  });
  it('zero_usage_flat_fee "skip" bills nothing at zero units', () => {
    expect(rate('graduated', { ...GRADUATED, zero_usage_flat_fee: 'skip' }, '0').amount).toBe('0');
  });
  it('adjacent decimal ranges (Lago spec): 0.05 -> 0.5, 0.5 -> 3', () => {
    const props = {
      graduated_ranges: [
        { from_value: 0, to_value: 0.1, per_unit_amount: '10', flat_amount: '0' },
        { from_value: 0.1, to_value: 1, per_unit_amount: '5', flat_amount: '0' },
        { from_value: 1, to_value: null, per_unit_amount: '2', flat_amount: '0' },
      ],
    };
    expect(rate('graduated', props, '0.05').amount).toBe('0.5');
    expect(rate('graduated', props, '0.5').amount).toBe('3');
  });
  it('unit amount is amount / units (21 units -> 163/21)', () => {
    expect(new D(rate('graduated', GRADUATED, '21').unitAmount).toDecimalPlaces(2).toString()).toBe('7.76');
  });
});

describe('volume (Lago spec numbers)', () => {
  it.each([
    ['0', '10'],
    ['1', '12'],
    ['100', '210'],
    ['100.5', '100.5'],
    ['101', '101'],
    ['200', '200'],
    ['300', '200'],
  ])('%s units -> %s', (units, amount) => {
    expect(rate('volume', VOLUME, units).amount).toBe(amount);
  });
  it('zero_usage_flat_fee "skip" bills nothing at zero units', () => {
    expect(rate('volume', { ...VOLUME, zero_usage_flat_fee: 'skip' }, '0').amount).toBe('0');
  });
});

describe('package (Lago spec numbers)', () => {
  it.each([
    [{ amount: '100', package_size: 10, free_units: 0 }, '121', '1300'],
    [{ amount: '100', package_size: 10, free_units: 10 }, '121', '1200'],
    [{ amount: '100', package_size: 10, free_units: 200 }, '121', '0'],
    [{ amount: '5', package_size: 1000, free_units: 0 }, '1000', '5'],
    [{ amount: '5', package_size: 1000, free_units: 0 }, '1001', '10'],
    [{ amount: '5', package_size: 1000, free_units: 0 }, '0', '0'],
  ])('%j with %s units -> %s', (props, units, amount) => {
    expect(rate('package', props, units).amount).toBe(amount);
  });
});

describe('percentage (Lago spec numbers)', () => {
  const base = { rate: '1.3', fixed_amount: '2.0', free_units_per_events: 3, free_units_per_total_aggregation: '250.0' };
  const values = ['50', '100', '250', '400'];
  it.each([
    ['free events 3 and free total 250 -> 11.15', base, '11.15'],
    ['free total 250 only -> 11.15', { ...base, free_units_per_events: undefined }, '11.15'],
    ['free events 3 only -> 7.2', { ...base, free_units_per_total_aggregation: undefined }, '7.2'],
    ['free total 500 > running total -> 7.2', { ...base, free_units_per_total_aggregation: '500.0' }, '7.2'],
    ['no free units -> 18.4', { rate: '1.3', fixed_amount: '2.0' }, '18.4'],
    ['rate 0 -> 8 of fixed fees', { rate: '0', fixed_amount: '2.0' }, '8'],
  ])('%s', (_name, props, amount) => {
    expect(rate('percentage', props as ChargeProperties, '800', 4, values).amount).toBe(amount);
  });
  it('small amounts: 4 × 2.9 % = 0.116', () => {
    expect(rate('percentage', { rate: '2.9' }, '4', 4).amount).toBe('0.116');
  });
  it('zero units -> 0', () => {
    expect(rate('percentage', base, '0', 0, []).amount).toBe('0');
  });
  it('free events > number of events -> 0', () => {
    expect(rate('percentage', { ...base, free_units_per_events: 5, free_units_per_total_aggregation: undefined }, '400', 3, ['50', '100', '250']).amount).toBe('0');
  });
  describe('per-transaction min/max (values 10, 80, 10000 at 2.99 %)', () => {
    const mm = { rate: '2.99', fixed_amount: '0', per_transaction_min_amount: '1.75', per_transaction_max_amount: '12', free_units_per_total_aggregation: '0' };
    const vals = ['10', '80', '10000'];
    it.each([
      ['min and max', mm, '16.142'],
      ['with fixed amount 2', { ...mm, fixed_amount: '2.0' }, '18.691'],
      ['2 free events', { ...mm, free_units_per_events: 2 }, '12'],
      ['30 free units', { ...mm, free_units_per_total_aggregation: '30' }, '13.794'],
      ['3 free events and 10000 free units', { ...mm, free_units_per_events: 3, free_units_per_total_aggregation: '10000' }, '2.691'],
    ])('%s', (_n, props, amount) => {
      expect(rate('percentage', props as ChargeProperties, '10090', 3, vals).amount).toBe(amount);
    });
  });
  it('needs per-event values for free events (no silent zero)', () => {
    expect(() => rate('percentage', base, '800', 4)).toThrow(expect.objectContaining({ code: 'event_values_required' }));
  });
});

describe('graduated_percentage (Lago spec numbers)', () => {
  it.each([
    ['0', '200'], // 2026 policy: first tier flat at zero
    ['1', '200.01'],
    ['10', '200.1'],
    ['11', '500.12'],
    ['12', '500.14'],
    ['21', '900.33'],
  ])('%s -> %s', (units, amount) => {
    expect(rate('graduated_percentage', GRAD_PCT, units).amount).toBe(amount);
  });
  it('skip policy: 0 -> 0 (Lago before 2026)', () => {
    expect(rate('graduated_percentage', { ...GRAD_PCT, zero_usage_flat_fee: 'skip' }, '0').amount).toBe('0');
  });
});

describe('dynamic', () => {
  it('sums precise_total_amount of the events', () => {
    const b = { filterIndex: null, groupedBy: {}, units: '3', eventsCount: 3, eventValues: [
      { units: '1', preciseTotalAmount: '0.0123' }, { units: '1', preciseTotalAmount: '10' }, { units: '1', preciseTotalAmount: null },
    ] };
    expect(rateBucket(charge('dynamic', {}), {}, b, { currency: 'USD' }).amount).toBe('10.0123');
  });
});

describe('properties', () => {
  const units = fc.integer({ min: 0, max: 100_000 }).chain((i) => fc.integer({ min: 0, max: 99 }).map((f) => `${i}.${String(f).padStart(2, '0')}`));
  const tierPrice = fc.integer({ min: 0, max: 10_000 }).map((c) => new D(c).div(100).toString());
  const gradProps = fc
    .tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 5000 }), tierPrice, tierPrice, tierPrice, tierPrice, tierPrice, tierPrice)
    .map(([a, b, p1, p2, p3, f1, f2, f3]) => ({
      graduated_ranges: [
        { from_value: 0, to_value: a, per_unit_amount: p1, flat_amount: f1 },
        { from_value: a, to_value: a + b, per_unit_amount: p2, flat_amount: f2 },
        { from_value: a + b, to_value: null, per_unit_amount: p3, flat_amount: f3 },
      ],
    }));

  it('graduated cost never decreases as units grow', () => {
    fc.assert(
      fc.property(gradProps, units, units, (props, u1, u2) => {
        const [lo, hi] = new D(u1).lte(u2) ? [u1, u2] : [u2, u1];
        expect(new D(rate('graduated', props, hi).amount).gte(rate('graduated', props, lo).amount)).toBe(true);
      }),
    );
  });

  it('graduated equals the sum of its tier slices', () => {
    fc.assert(
      fc.property(gradProps, units, (props, u) => {
        const U = new D(u);
        let expected = new D(0);
        props.graduated_ranges.forEach((r, i) => {
          const lo = new D(r.from_value);
          const hi = r.to_value === null ? U : D.min(U, r.to_value);
          if (i === 0 || U.gt(lo)) {
            expected = expected.plus(D.max(hi.minus(lo), 0).times(r.per_unit_amount)).plus(U.isZero() && i > 0 ? 0 : r.flat_amount);
          }
        });
        expect(rate('graduated', props, u).amount).toBe(expected.toString());
      }),
    );
  });

  it('volume equals one tier price for all units plus that tier flat', () => {
    fc.assert(
      fc.property(gradProps, units, (g, u) => {
        const props = { volume_ranges: g.graduated_ranges };
        const U = new D(u);
        const tier = g.graduated_ranges.find((r) => r.to_value === null || U.lte(r.to_value))!;
        expect(rate('volume', props, u).amount).toBe(U.times(tier.per_unit_amount).plus(tier.flat_amount).toString());
      }),
    );
  });

  it('package: free units are never charged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 10_000 }), (free, size, u) => {
        const props = { amount: '3', package_size: size, free_units: free };
        const amount = new D(rate('package', props, String(u)).amount);
        if (u <= free) expect(amount.isZero()).toBe(true);
        else expect(amount.toString()).toBe(new D(u - free).div(size).ceil().times(3).toString());
      }),
    );
  });

  it('percentage: free units are never charged', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 50_000 }), (vals, free) => {
        const total = vals.reduce((a, b) => a + b, 0);
        const props = { rate: '2', free_units_per_total_aggregation: String(free) };
        const amount = new D(rate('percentage', props, String(total), vals.length, vals.map(String)).amount);
        expect(amount.toString()).toBe(new D(Math.max(total - free, 0)).times(2).div(100).toString());
      }),
    );
  });

  it('standard: rating a period in pieces (sum aggregation) equals rating it whole', () => {
    fc.assert(
      fc.property(fc.array(units, { minLength: 1, maxLength: 20 }), tierPrice, (pieces, amount) => {
        const whole = rate('standard', { amount }, pieces.reduce((a, p) => a.plus(p), new D(0)).toString()).amount;
        const sum = pieces.reduce((a, p) => a.plus(rate('standard', { amount }, p).amount), new D(0));
        expect(sum.toString()).toBe(new D(whole).toString());
      }),
    );
  });
});
