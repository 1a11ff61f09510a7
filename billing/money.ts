// Money primitives. The ONLY Decimal constructor of the engine is `D` (precision 40, half-up);
// never the global Decimal.set. Outside billing/, money is integer minor units or decimal strings.
//
// Rounding point R1 (the only one for money): `roundToMinorUnits` — half-up (ties away from zero,
// so -0.005 USD -> -1 cent) to the currency's ISO 4217 exponent. Called once per invoice line.

import Decimal from 'decimal.js';
import { currencyExponent } from './currency';
import { BillingError } from './errors';

/** The engine's Decimal: 40 significant digits, ROUND_HALF_UP, never exponential notation in toString(). */
export const D = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});
export type Dec = InstanceType<typeof D>;

const DECIMAL_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** True for plain decimal strings like "0", "-12.50", "0.000002" (no exponent, no leading +, no spaces). */
export function isDecimalString(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 200 && DECIMAL_RE.test(s);
}

/** Parse a decimal string (or a finite JS number coming from JSON) into a Decimal; throws BillingError otherwise. */
export function dec(value: unknown, field?: string): Dec {
  if (typeof value === 'string' && isDecimalString(value)) return new D(value);
  if (typeof value === 'number' && Number.isFinite(value)) return new D(value);
  throw new BillingError('invalid_decimal', `Not a decimal: ${JSON.stringify(value)}`, field);
}

/** Canonical string of a Decimal (plain notation, "-0" normalised to "0"). */
export function str(d: Dec): string {
  return d.isZero() ? '0' : d.toString();
}

/** a + b for decimal strings (units, live totals), in Decimal's canonical string: for callers outside billing/. */
export function addDecimalStrings(a: string, b: string): string {
  return str(dec(a).plus(dec(b)));
}

/** Σ of decimal strings ("0" for none). */
export function sumDecimalStrings(values: Iterable<string>): string {
  let total = new D(0);
  for (const v of values) total = total.plus(dec(v));
  return str(total);
}

/** True when two decimal strings are the same number ("5" and "5.00"). */
export function decimalStringsEqual(a: string, b: string): boolean {
  return dec(a).eq(dec(b));
}

function pow10(exp: number): Dec {
  return new D(10).pow(exp);
}

function toSafeInteger(d: Dec, what: string): number {
  const n = d.toNumber();
  if (!Number.isSafeInteger(n) || !new D(n).eq(d)) {
    throw new BillingError('amount_out_of_range', `${what} ${d.toString()} is not a safe integer`);
  }
  return n;
}

/** Round a precise amount in major units (e.g. "246.905") half-up to an integer of minor units (24691). */
export function roundToMinorUnits(amount: string, currency: string): number {
  const exp = currencyExponent(currency);
  const minor = dec(amount, 'amount').times(pow10(exp)).toDecimalPlaces(0, D.ROUND_HALF_UP);
  return toSafeInteger(minor, 'Amount in minor units');
}

/** Same as roundToMinorUnits, from a Decimal (internal). */
export function roundDecToMinorUnits(amount: Dec, currency: string): number {
  const exp = currencyExponent(currency);
  return toSafeInteger(amount.times(pow10(exp)).toDecimalPlaces(0, D.ROUND_HALF_UP), 'Amount in minor units');
}

/** 24691 USD -> "246.91"; 1500 JPY -> "1500"; 1234 KWD -> "1.234". */
export function minorUnitsToDecimalString(cents: number, currency: string): string {
  if (!Number.isSafeInteger(cents)) {
    throw new BillingError('amount_out_of_range', `Minor units ${String(cents)} is not a safe integer`);
  }
  const exp = currencyExponent(currency);
  const digits = String(Math.abs(cents)).padStart(exp + 1, '0');
  const sign = cents < 0 ? '-' : '';
  if (exp === 0) return sign + digits;
  return `${sign}${digits.slice(0, digits.length - exp)}.${digits.slice(digits.length - exp)}`;
}

/**
 * The amount a payment provider (Stripe) expects: integer minor units. The amount must already be
 * exact at the currency's minor unit ("12.34" USD ok, "12.345" USD throws): rounding belongs to
 * the invoice line, not to the payment.
 */
export function toMinorUnits(amount: string, currency: string): number {
  const exp = currencyExponent(currency);
  const minor = dec(amount, 'amount').times(pow10(exp));
  if (!minor.isInteger()) {
    throw new BillingError('not_minor_unit_exact', `${amount} ${currency} has more than ${exp} decimals`, 'amount');
  }
  return toSafeInteger(minor, 'Amount in minor units');
}

/**
 * Split `totalCents` in proportion to `weights` (non-negative decimal strings) with the
 * largest-remainder method: floor every share, then hand the leftover cents one by one to the
 * largest fractional remainders (ties: lower index first). The result always sums to totalCents.
 * All-zero weights split equally. A negative total is allocated as its absolute value, negated.
 */
export function allocateLargestRemainder(totalCents: number, weights: string[]): number[] {
  if (!Number.isSafeInteger(totalCents)) {
    throw new BillingError('amount_out_of_range', `Total ${String(totalCents)} is not a safe integer`);
  }
  if (weights.length === 0) {
    if (totalCents === 0) return [];
    throw new BillingError('invalid_allocation', 'Cannot allocate a non-zero amount over no weights');
  }
  if (totalCents < 0) return allocateLargestRemainder(-totalCents, weights).map((c) => (c === 0 ? 0 : -c));
  let ws = weights.map((w, i) => {
    const d = dec(w, `weights[${i}]`);
    if (d.isNegative()) throw new BillingError('invalid_allocation', 'Weights must be non-negative', `weights[${i}]`);
    return d;
  });
  let sum = ws.reduce((a, b) => a.plus(b), new D(0));
  if (sum.isZero()) {
    ws = ws.map(() => new D(1));
    sum = new D(ws.length);
  }
  const total = new D(totalCents);
  const shares = ws.map((w, index) => {
    const exact = total.times(w).div(sum);
    const floor = exact.floor();
    return { index, floor: floor.toNumber(), rem: exact.minus(floor) };
  });
  let left = totalCents - shares.reduce((a, s) => a + s.floor, 0);
  const order = [...shares].sort((a, b) => b.rem.comparedTo(a.rem) || a.index - b.index);
  const out = shares.map((s) => s.floor);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    const idx = order[k]!.index;
    out[idx] = out[idx]! + 1;
  }
  return out;
}
