import { canonicalDecimal, toDecimalString } from '../../billing/decimal-string';
import { addDecimalStrings, decimalStringsEqual, sumDecimalStrings } from '../../billing/money';

describe('the one decimal-string canonicalizer (billing/decimal-string.ts)', () => {
  it.each([
    ['246.905000000000000', '246.905'],
    ['0.000', '0'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['0500', '500'],
    ['1e3', '1000'],
    ['12.50', '12.5'],
    ['-3.140', '-3.14'],
  ])('%s → %s', (input, out) => {
    expect(canonicalDecimal(input)).toBe(out);
    expect(toDecimalString(input)).toBe(out);
  });

  it('canonicalizes stored values of any length (Postgres numeric), where input validation stops at 40 decimals', () => {
    const long = `1.${'0'.repeat(60)}1`;
    expect(canonicalDecimal(long)).toBe(long);
    expect(toDecimalString(long)).toBeNull();
    expect(() => canonicalDecimal('abc')).toThrow(expect.objectContaining({ code: 'invalid_decimal' }));
  });

  it('decimal-string helpers for code outside billing/ add, sum and compare exactly', () => {
    expect(addDecimalStrings('0.1', '0.2')).toBe('0.3');
    expect(sumDecimalStrings(['1.5', '2', '-0.5'])).toBe('3');
    expect(sumDecimalStrings([])).toBe('0');
    expect(decimalStringsEqual('5', '5.00')).toBe(true);
    expect(decimalStringsEqual('5', '5.01')).toBe(false);
  });
});
