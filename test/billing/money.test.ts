import fc from 'fast-check';
import {
  allocateLargestRemainder,
  BillingError,
  currencyExponent,
  isDecimalString,
  isSupportedCurrency,
  minorUnitsToDecimalString,
  roundToMinorUnits,
  toMinorUnits,
} from '../../billing';

describe('currencyExponent', () => {
  it.each([
    ['USD', 2], ['EUR', 2], ['GBP', 2], ['JPY', 0], ['KRW', 0], ['KWD', 3], ['BHD', 3], ['CLP', 0], ['TND', 3],
  ])('%s has %i decimals', (code, exp) => {
    expect(currencyExponent(code)).toBe(exp);
  });
  it('rejects unknown and lower-case codes with unsupported_currency', () => {
    expect(() => currencyExponent('XYZ')).toThrow(expect.objectContaining({ code: 'unsupported_currency' }));
    expect(isSupportedCurrency('usd')).toBe(false);
  });
});

describe('roundToMinorUnits (half-up, once per line)', () => {
  it.each([
    ['246.913578', 'USD', 24691],
    ['0.005', 'USD', 1],
    ['0.004999999', 'USD', 0],
    ['1.005', 'USD', 101],
    ['2.675', 'USD', 268], // float would say 267
    ['-0.005', 'USD', -1], // ties away from zero
    ['1499.5', 'JPY', 1500],
    ['1499.49', 'JPY', 1499],
    ['1.2345', 'KWD', 1235],
    ['1.2344', 'KWD', 1234],
    ['0.0005', 'BHD', 1],
  ])('%s %s -> %i', (amount, currency, cents) => {
    expect(roundToMinorUnits(amount, currency)).toBe(cents);
  });
  it('throws amount_out_of_range beyond safe integers', () => {
    expect(() => roundToMinorUnits('999999999999999999', 'USD')).toThrow(expect.objectContaining({ code: 'amount_out_of_range' }));
  });
  it('throws on a non-decimal input', () => {
    expect(() => roundToMinorUnits('1e3', 'USD')).toThrow(BillingError);
  });
});

describe('minorUnitsToDecimalString / toMinorUnits', () => {
  it.each([
    [24691, 'USD', '246.91'], [5, 'USD', '0.05'], [-5, 'USD', '-0.05'], [1500, 'JPY', '1500'], [1234, 'KWD', '1.234'], [150010, 'USD', '1500.10'],
  ])('%i %s <-> %s', (cents, currency, s) => {
    expect(minorUnitsToDecimalString(cents, currency)).toBe(s);
    expect(toMinorUnits(s, currency)).toBe(cents);
  });
  it('toMinorUnits refuses sub-minor-unit amounts instead of rounding', () => {
    expect(() => toMinorUnits('12.345', 'USD')).toThrow(expect.objectContaining({ code: 'not_minor_unit_exact' }));
    expect(() => toMinorUnits('1.5', 'JPY')).toThrow(expect.objectContaining({ code: 'not_minor_unit_exact' }));
  });
});

describe('isDecimalString', () => {
  it.each(['0', '12', '-3.5', '0.000002'])('accepts %s', (s) => expect(isDecimalString(s)).toBe(true));
  it.each(['', '1e3', '+1', '01', '1.', '.5', ' 1', 'NaN', '1,5'])('rejects %p', (s) => expect(isDecimalString(s)).toBe(false));
  it('rejects numbers', () => expect(isDecimalString(1)).toBe(false));
});

describe('allocateLargestRemainder', () => {
  it('splits 100 cents over three equal weights as 34/33/33', () => {
    expect(allocateLargestRemainder(100, ['1', '1', '1'])).toEqual([34, 33, 33]);
  });
  it('gives leftovers to the largest remainders', () => {
    expect(allocateLargestRemainder(10, ['0.5', '0.3', '0.2'])).toEqual([5, 3, 2]);
    expect(allocateLargestRemainder(1, ['1', '2'])).toEqual([0, 1]);
  });
  it('splits equally when all weights are zero, and negates for negative totals', () => {
    expect(allocateLargestRemainder(5, ['0', '0'])).toEqual([3, 2]);
    expect(allocateLargestRemainder(-100, ['1', '1', '1'])).toEqual([-34, -33, -33]);
  });
  it('property: shares always sum to the total and each is within 1 of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 20 }),
        (total, ws) => {
          const out = allocateLargestRemainder(total, ws.map(String));
          expect(out.reduce((a, b) => a + b, 0)).toBe(total);
          const W = ws.reduce((a, b) => a + b, 0);
          if (W > 0) {
            // |share·W − total·w| < W, in exact integers (no float arithmetic on money).
            out.forEach((c, i) => {
              const diff = BigInt(c) * BigInt(W) - BigInt(total) * BigInt(ws[i]!);
              expect(diff < 0n ? -diff : diff).toBeLessThan(BigInt(W));
            });
          }
        },
      ),
    );
  });
});
