// Minor units read back from Postgres. A bigint column or a SUM comes back from pg as a string; each repository turns it
// into a JS number through this one check, so a value past Number.MAX_SAFE_INTEGER (where a JS number starts losing
// cents) is refused instead of silently rounded. NULL (a SUM over no rows, an unset amount) counts as 0; `undefined`
// (a column that was never selected) is a bug and is refused.
import { BillingError } from '../../billing/errors';

const INTEGER = /^-?\d+$/;

export function minorUnits(v: unknown, what: string): number {
  const n =
    v === null ? 0 : typeof v === 'number' ? v : typeof v === 'bigint' || (typeof v === 'string' && INTEGER.test(v)) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new BillingError('amount_out_of_range', `${what} is not a safe integer of minor units: ${String(v)}`);
  return n;
}

/** As minorUnits, but an unset amount (NULL) stays null. */
export function minorUnitsOrNull(v: unknown, what: string): number | null {
  return v === null || v === undefined ? null : minorUnits(v, what);
}
