import { fromStripeMinorUnits, toStripeMinorUnits } from '../../billing/stripe-amount';

test.each([
  [1999, 'USD', 1999],
  [1500, 'JPY', 1500],
  [500, 'ISK', 50000],
  [7, 'UGX', 700],
  [1200, 'MGA', 12],
  [12340, 'KWD', 12340],
])('toStripeMinorUnits(%d, %s) = %d and fromStripeMinorUnits inverts it', (cents, currency, stripe) => {
  expect(toStripeMinorUnits(cents, currency)).toBe(stripe);
  expect(fromStripeMinorUnits(stripe, currency)).toBe(cents);
});

test.each([
  [12345, 'KWD'],
  [1234, 'MGA'],
])('toStripeMinorUnits never rounds: %d %s is not representable at Stripe and throws not_minor_unit_exact', (cents, currency) => {
  expect(() => toStripeMinorUnits(cents, currency)).toThrow(expect.objectContaining({ code: 'not_minor_unit_exact' }));
});
