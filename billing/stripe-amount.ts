// Invoice minor units (ISO 4217 exponent, billing/currency.ts) → the integer amount Stripe's API expects.
//
// Stripe uses the ISO exponent except for a few currencies (Stripe docs "Supported currencies", special
// cases): ISK and UGX are zero-decimal in ISO but Stripe's API still takes them in two-decimal form
// (amount × 100); MGA has ISO exponent 2 but is zero-decimal at Stripe; three-decimal currencies (BHD, JOD,
// KWD, OMR, TND) must end in 0. Never rounds: an amount Stripe cannot represent exactly throws
// `not_minor_unit_exact` (rounding belongs to the invoice line, billing/README.md).
import { currencyExponent } from './currency';
import { BillingError } from './errors';
import { toMinorUnits, minorUnitsToDecimalString } from './money';

const STRIPE_EXPONENT_OVERRIDES: Readonly<Record<string, number>> = { ISK: 2, UGX: 2, MGA: 0 };
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/** Stripe's minor-unit exponent for `currency`. */
export function stripeExponent(currency: string): number {
  return STRIPE_EXPONENT_OVERRIDES[currency] ?? currencyExponent(currency);
}

/**
 * The one conversion of an invoice amount (integer minor units of `currency`) to Stripe's `amount`:
 * the decimal amount re-expressed at Stripe's exponent through money.toMinorUnits (exact or throws).
 */
export function toStripeMinorUnits(amountCents: number, currency: string): number {
  const amount = minorUnitsToDecimalString(amountCents, currency);
  const exp = stripeExponent(currency);
  const iso = currencyExponent(currency);
  // The money helper converts at the ISO exponent; re-scale by the difference without rounding.
  const scaled = exp === iso ? amountCents : toMinorUnits(shiftDecimal(amount, exp - iso), currency);
  if (STRIPE_THREE_DECIMAL.has(currency) && !minorUnitsToDecimalString(scaled, currency).endsWith('0')) {
    throw new BillingError('not_minor_unit_exact', `Stripe takes ${currency} amounts in multiples of 10 minor units, got ${amountCents}`, 'amount');
  }
  return scaled;
}

/** "12.34" shifted by 2 → "1234"; by -2 → "0.1234" (string manipulation only, exact). */
function shiftDecimal(amount: string, places: number): string {
  const negative = amount.startsWith('-');
  const [int, frac = ''] = (negative ? amount.slice(1) : amount).split('.');
  let digits = int + frac;
  let point = int.length + places;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits + '0'.repeat(point - digits.length);
  const head = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const tail = digits.slice(point);
  return `${negative ? '-' : ''}${head}${tail ? `.${tail}` : ''}`;
}

/** Stripe's `amount` back to invoice minor units; exact or throws (the inverse of toStripeMinorUnits). */
export function fromStripeMinorUnits(stripeAmount: number, currency: string): number {
  if (!Number.isSafeInteger(stripeAmount)) throw new BillingError('amount_out_of_range', `Stripe amount ${String(stripeAmount)} is not a safe integer`, 'amount');
  const diff = stripeExponent(currency) - currencyExponent(currency);
  if (diff === 0) return stripeAmount;
  const amount = shiftDecimal(String(stripeAmount), -stripeExponent(currency));
  return toMinorUnits(amount, currency);
}
