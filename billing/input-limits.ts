// The magnitudes the engine carries safely, checked on TEXT (no Decimal, no float), so the API can refuse a
// value at the door and the period close can tell a usable stored value from a poison one with one rule.
//
// Limits (documented in the README, "Input limits"):
// - every event value a metric aggregates (sum / max / weighted sum / latest), an event's
//   precise_total_amount_cents, and every numeric leaf of a charge's properties (prices, tiers, package sizes,
//   free units): |value| < 10^15 (at most 15 integer digits) and at most 15 fractional digits.
// Why: Postgres stores them as numeric(40,15) (25 integer digits, 15 fractional), the engine's Decimal `D`
// keeps 40 significant digits (15 + 15 = 30 leaves 10 digits of head-room for sums of up to 10^10 events
// without losing a digit), and an invoice line must come out below 2^53 minor units (money.toSafeInteger):
// a 15-digit value is the largest that still fits a line on its own.
// What they do NOT guarantee: a product of two large in-range values (10^14 units × 10^14 per unit) can still
// exceed 2^53 cents on one line; the close then fails with amount_out_of_range for that line (see README).

export const MAX_INTEGER_DIGITS = 15;
export const MAX_FRACTION_DIGITS = 15;

export type DecimalLimitViolation = 'invalid_value' | 'value_is_out_of_range' | 'too_many_decimals';

const NUMBER_TEXT = /^\s*([+-])?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?\s*$/;

/**
 * null when `value` (a JSON number or a numeric string) is a finite decimal inside the limits; otherwise why not.
 * Exponents are honoured exactly: "1e14" is fine, "1e15" is out of range, "1e-16" has too many decimals.
 */
export function decimalLimitViolation(value: unknown): DecimalLimitViolation | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'invalid_value';
    text = String(value);
  } else if (typeof value === 'string') {
    if (value.length > 400) return 'value_is_out_of_range';
    text = value;
  } else {
    return 'invalid_value';
  }
  const m = NUMBER_TEXT.exec(text);
  if (!m) return 'invalid_value';
  const [, , body, expText] = m;
  if (expText !== undefined && expText.replace(/^[+-]?0*/, '').length > 6) return 'value_is_out_of_range';
  const exp = expText === undefined ? 0 : Number(expText);
  const [whole = '', frac = ''] = body!.split('.');
  const digits = (whole + frac).replace(/^0+/, '');
  if (digits === '') return null; // zero, whatever its spelling
  // Position of the decimal point counted from the left of `digits` (significant digits only).
  const leadingZerosDropped = (whole + frac).length - digits.length;
  const pointAt = whole.length - leadingZerosDropped + exp;
  const significant = digits.replace(/0+$/, '');
  const integerDigits = Math.max(0, pointAt);
  const fractionDigits = Math.max(0, significant.length - pointAt);
  if (integerDigits > MAX_INTEGER_DIGITS) return 'value_is_out_of_range';
  if (fractionDigits > MAX_FRACTION_DIGITS) return 'too_many_decimals';
  return null;
}

/** True when a stored event value can be aggregated and rated (absent values are usable: they are ignored). */
export function isUsableEventValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  return decimalLimitViolation(value) === null;
}

const NUMERIC_AGGREGATIONS = new Set(['sum_agg', 'max_agg', 'weighted_sum_agg', 'latest_agg']);

/** The parts of a stored event and of its metric that decide whether billing can use the event. */
export interface StoredEventValues {
  aggregationType: string;
  fieldName: string | null;
  properties: Record<string, unknown>;
  /** As stored (decimal text) or null. */
  preciseTotalAmount: string | null;
}

/** Why billing cannot use a stored event (the field and the limit code), or null when it can. */
export function unusableEventReason(e: StoredEventValues): { field: string; code: DecimalLimitViolation } | null {
  if (e.fieldName && NUMERIC_AGGREGATIONS.has(e.aggregationType)) {
    const raw = e.properties[e.fieldName];
    if (raw !== undefined && raw !== null) {
      const v = decimalLimitViolation(raw);
      if (v) return { field: `properties.${e.fieldName}`, code: v };
    }
  }
  if (e.preciseTotalAmount !== null) {
    const v = decimalLimitViolation(e.preciseTotalAmount);
    if (v) return { field: 'precise_total_amount_cents', code: v };
  }
  return null;
}
