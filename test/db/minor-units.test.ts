// db/repositories/minor-units.ts: the one reader of minor units coming back from Postgres (bigint columns and SUMs
// arrive as strings). Pure: no database needed.
import { BillingError } from '../../billing/errors';
import { minorUnits, minorUnitsOrNull } from '../../db/repositories/minor-units';

describe('minorUnits', () => {
  it('reads pg bigint strings, numbers and bigints as the same integer', () => {
    expect(minorUnits('9007199254740991', 'x')).toBe(9007199254740991);
    expect(minorUnits(-1250, 'x')).toBe(-1250);
    expect(minorUnits(42n, 'x')).toBe(42);
  });

  it('counts NULL (a SUM over no rows) as 0 but refuses a column that was never selected', () => {
    expect(minorUnits(null, 'x')).toBe(0);
    expect(() => minorUnits(undefined, 'total_amount_cents')).toThrow(/total_amount_cents/);
  });

  it('refuses values a JS number cannot hold to the cent, and fractions, as amount_out_of_range', () => {
    for (const bad of ['9007199254740993', '12.5', 'abc', '', {}]) {
      let caught: unknown;
      try {
        minorUnits(bad, 'balance_cents');
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(BillingError);
      expect((caught as BillingError).code).toBe('amount_out_of_range');
    }
  });

  it('keeps an unset amount null when asked', () => {
    expect(minorUnitsOrNull(null, 'x')).toBeNull();
    expect(minorUnitsOrNull(undefined, 'x')).toBeNull();
    expect(minorUnitsOrNull('7', 'x')).toBe(7);
  });
});
