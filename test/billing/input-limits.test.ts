import { decimalLimitViolation, isUsableEventValue } from '../../billing/input-limits';

describe('decimalLimitViolation (|v| < 1e15, at most 15 fractional digits, decided on text)', () => {
  it.each([
    ['0', null], [0, null], ['-0.000', null], ['0e999999', null], ['12', null], [1.5, null],
    ['999999999999999', null], ['-999999999999999.999999999999999', null], ['1e14', null], ['1.5e-14', null],
    ['000000000000000000001', null], ['1.000000000000000000000', null],
    ['1000000000000000', 'value_is_out_of_range'], [1e15, 'value_is_out_of_range'], [1e79, 'value_is_out_of_range'],
    ['1e15', 'value_is_out_of_range'], ['9'.repeat(100), 'value_is_out_of_range'], ['1e9999999', 'value_is_out_of_range'],
    ['0.0000000000000001', 'too_many_decimals'], ['1e-16', 'too_many_decimals'], [1e-20, 'too_many_decimals'],
    ['abc', 'invalid_value'], ['1,5', 'invalid_value'], [Number.NaN, 'invalid_value'], [true, 'invalid_value'], [{}, 'invalid_value'],
  ])('%p -> %p', (value, expected) => {
    expect(decimalLimitViolation(value)).toBe(expected);
  });

  it('absent values are usable (ignored by aggregation), out-of-range ones are not', () => {
    expect(isUsableEventValue(undefined)).toBe(true);
    expect(isUsableEventValue(null)).toBe(true);
    expect(isUsableEventValue('1e79')).toBe(false);
    expect(isUsableEventValue('lots')).toBe(false);
  });
});
