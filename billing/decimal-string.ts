// Exact decimal strings without Decimal objects (BigInt + scale): THE decimal-string canonicalizer of the
// project, and exact sums / shifts of decimal strings, for code outside billing/ (which must not hold Decimal
// objects: ingest, serializers, repositories). Pure; safe in the workflow sandbox.
// Canonical form: plain notation, no exponent, no leading zeros, no trailing fractional zeros, no trailing
// point, "-0" → "0" ("0500" → "500", "246.905000" → "246.905", "1e3" → "1000", "-0.0" → "0").
import { BillingError } from './errors';

interface Fixed {
  int: bigint;
  scale: number;
}

const DECIMAL = /^([+-])?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d{1,3}))?$/;
const MAX_SCALE = 40;

function parse(value: string, limited = true): Fixed | null {
  const m = DECIMAL.exec(value.trim());
  if (!m) return null;
  const [, sign, body, expRaw] = m;
  const [whole, frac = ''] = body.split('.');
  let digits = (whole || '0') + frac;
  let scale = frac.length - (expRaw ? Number(expRaw) : 0);
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  if (limited && (scale > MAX_SCALE || digits.length > 80)) return null;
  let int = BigInt(digits);
  if (sign === '-') int = -int;
  return { int, scale };
}

function format(f: Fixed): string {
  const negative = f.int < 0n;
  let s = (negative ? -f.int : f.int).toString();
  if (f.scale > 0) {
    s = s.padStart(f.scale + 1, '0');
    let out = `${s.slice(0, s.length - f.scale)}.${s.slice(s.length - f.scale)}`;
    out = out.replace(/0+$/, '').replace(/\.$/, '');
    s = out;
  }
  return negative && s !== '0' ? `-${s}` : s;
}

/** A JSON number or numeric string as a canonical decimal string; null when it is not a finite number (input
 * validation: at most 40 fractional digits and 80 digits). */
export function toDecimalString(value: unknown): string | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    const f = parse(String(value));
    return f ? format(f) : null;
  }
  if (typeof value === 'string') {
    const f = parse(value);
    return f ? format(f) : null;
  }
  return null;
}

/** Exact sum of two decimal strings. */
export function addDecimal(a: string, b: string): string {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) throw new Error(`not a decimal: ${a} + ${b}`);
  const scale = Math.max(x.scale, y.scale);
  const int = x.int * 10n ** BigInt(scale - x.scale) + y.int * 10n ** BigInt(scale - y.scale);
  return format({ int, scale });
}

/** value × 10^places, exactly (used to express a major-unit decimal in minor units). */
export function shiftDecimal(value: string, places: number): string {
  const f = parse(value);
  if (!f) throw new Error(`not a decimal: ${value}`);
  if (places >= 0) {
    const drop = Math.min(places, f.scale);
    return format({ int: f.int * 10n ** BigInt(places - drop), scale: f.scale - drop });
  }
  return format({ int: f.int, scale: f.scale - places });
}

/**
 * A stored decimal (Postgres numeric text, a value read back from a row) in canonical form, whatever its length.
 * Throws BillingError 'invalid_decimal' for text that is not a decimal.
 */
export function canonicalDecimal(value: string): string {
  const f = parse(value, false);
  if (!f) throw new BillingError('invalid_decimal', `Not a decimal: ${JSON.stringify(value)}`);
  return format(f);
}
