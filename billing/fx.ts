// Foreign exchange, pure: cross rates through EUR from ECB euro reference rates, "the rate for date D",
// and the conversion of an invoice's lines from the plan's price currency into the invoice currency.
//
// Rates are decimal strings ("1.0862" = 1 EUR buys 1.0862 USD), never floats.
//
// Rate for date D (an ISO date, the last local day of the billed period): the latest rate published ON OR
// BEFORE D. Both legs of a cross rate come from the SAME publication date (the ECB publishes every currency
// together, so the pair's date is the latest date ≤ D on which both legs exist). A rate older than
// `maxStalenessDays` before D is no rate at all (the feed stopped, or the currency left the ECB list):
// the caller gets `{ ok: false }` with the reason and the invoice waits — never a guess.
//
// ROUNDING (billing/README.md):
//  - FX1 cross rate: quote/base through EUR, rounded half-up to CROSS_RATE_SIGNIFICANT_DIGITS (12)
//    significant digits. The rounded rate is the one stored and printed on the invoice AND the one used
//    to convert, so anyone can redo `line × rate` from the document. A direct EUR→X rate is the ECB's own
//    figure, unrounded.
//  - FX2 converted line: precise amount in the price currency × rate, rounded ONCE, half-up, to the invoice
//    currency's minor unit (R1). Totals are sums of the converted rounded lines, never re-rounded.
import { currencyExponent } from './currency';
import { BillingError } from './errors';
import type { Fee, InvoiceDraft } from './invoice';
import { D, dec, isDecimalString, roundDecToMinorUnits, str, type Dec } from './money';

export const FX_BASE_CURRENCY = 'EUR';
export const CROSS_RATE_SIGNIFICANT_DIGITS = 12;
/** Default staleness bound for published (ECB) rates: a week covers weekends and TARGET holidays. */
export const DEFAULT_MAX_STALENESS_DAYS = 7;

export type FxRateSource = 'ecb' | 'manual' | 'identity';

/** One published euro reference rate: 1 EUR = `rate` units of `currency`, on `date`. */
export interface EurRate {
  currency: string;
  /** YYYY-MM-DD */
  date: string;
  /** Positive decimal string. */
  rate: string;
}

/** A pair rate: 1 `baseCurrency` = `rate` `quoteCurrency`. */
export interface FxRate {
  baseCurrency: string;
  quoteCurrency: string;
  rate: string;
  /** Publication date of the rate (YYYY-MM-DD). */
  date: string;
  source: FxRateSource;
}

/** An operator-entered rate for a pair (source `manual`). */
export interface ManualRate {
  baseCurrency: string;
  quoteCurrency: string;
  date: string;
  rate: string;
}

export type RateLookup =
  | { ok: true; rate: FxRate }
  | { ok: false; code: 'fx_rate_missing' | 'fx_rate_stale'; message: string; latestDate: string | null };

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Days since the epoch of an ISO date; throws `invalid_date` for anything else. */
export function isoDay(date: string, field = 'date'): number {
  if (typeof date !== 'string' || !DATE_RE.test(date)) throw new BillingError('invalid_date', `Not a YYYY-MM-DD date: ${String(date)}`, field);
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new BillingError('invalid_date', `Not a calendar date: ${date}`, field);
  }
  return ms / 86_400_000;
}

/** A rate must be a positive plain decimal string. */
export function parseRate(rate: unknown, field = 'rate'): Dec {
  if (!isDecimalString(rate)) throw new BillingError('invalid_fx_rate', `Not a decimal rate: ${JSON.stringify(rate)}`, field);
  const d = new D(rate);
  if (!d.isPositive() || d.isZero()) throw new BillingError('invalid_fx_rate', `A rate must be positive: ${rate}`, field);
  return d;
}

/** FX1: the cross rate quote/base from two EUR legs, 12 significant digits, half-up. */
export function crossRate(basePerEur: string, quotePerEur: string): string {
  const q = parseRate(quotePerEur).div(parseRate(basePerEur));
  return str(q.toSignificantDigits(CROSS_RATE_SIGNIFICANT_DIGITS, D.ROUND_HALF_UP));
}

function legRate(currency: string, rates: Map<string, string> | undefined): string | undefined {
  if (currency === FX_BASE_CURRENCY) return '1';
  return rates?.get(currency);
}

/**
 * The rate `from → to` for date D from published euro reference rates (see the header).
 * EUR legs are 1; from = to is the identity rate (source `identity`, dated D).
 */
export function rateForDate(
  published: readonly EurRate[],
  from: string,
  to: string,
  date: string,
  maxStalenessDays: number = DEFAULT_MAX_STALENESS_DAYS,
): RateLookup {
  currencyExponent(from);
  currencyExponent(to);
  const day = isoDay(date);
  if (from === to) return { ok: true, rate: { baseCurrency: from, quoteCurrency: to, rate: '1', date, source: 'identity' } };
  const byDate = new Map<string, Map<string, string>>();
  for (const r of published) {
    if (r.date > date) continue;
    let m = byDate.get(r.date);
    if (!m) byDate.set(r.date, (m = new Map()));
    m.set(r.currency, r.rate);
  }
  const dates = [...byDate.keys()].sort().reverse();
  const usable = dates.find((d) => legRate(from, byDate.get(d)) !== undefined && legRate(to, byDate.get(d)) !== undefined);
  if (usable === undefined) {
    return { ok: false, code: 'fx_rate_missing', message: `No ECB rate for ${from}/${to} on or before ${date}`, latestDate: null };
  }
  if (day - isoDay(usable) > maxStalenessDays) {
    return {
      ok: false,
      code: 'fx_rate_stale',
      message: `The latest ECB rate for ${from}/${to} on or before ${date} is from ${usable}, more than ${maxStalenessDays} days old`,
      latestDate: usable,
    };
  }
  const legs = byDate.get(usable);
  const base = legRate(from, legs)!;
  const quote = legRate(to, legs)!;
  const rate = from === FX_BASE_CURRENCY ? str(parseRate(quote)) : crossRate(base, quote);
  return { ok: true, rate: { baseCurrency: from, quoteCurrency: to, rate, date: usable, source: 'ecb' } };
}

/** The latest operator-entered rate for the pair on or before D, within `maxStalenessDays`. */
export function manualRateForDate(manual: readonly ManualRate[], from: string, to: string, date: string, maxStalenessDays: number): RateLookup {
  const day = isoDay(date);
  const candidates = manual.filter((m) => m.baseCurrency === from && m.quoteCurrency === to && m.date <= date).sort((a, b) => (a.date < b.date ? 1 : -1));
  const latest = candidates[0];
  if (!latest) return { ok: false, code: 'fx_rate_missing', message: `No manual rate for ${from}/${to} on or before ${date}`, latestDate: null };
  if (day - isoDay(latest.date) > maxStalenessDays) {
    return { ok: false, code: 'fx_rate_stale', message: `The latest manual rate for ${from}/${to} is from ${latest.date}, more than ${maxStalenessDays} days before ${date}`, latestDate: latest.date };
  }
  return { ok: true, rate: { baseCurrency: from, quoteCurrency: to, rate: str(parseRate(latest.rate)), date: latest.date, source: 'manual' } };
}

/** ECB first; the manual table only when the ECB has no usable rate. The failure reported is the ECB's. */
export function resolveRate(
  published: readonly EurRate[],
  manual: readonly ManualRate[],
  from: string,
  to: string,
  date: string,
  opts: { maxStalenessDays?: number; manualMaxStalenessDays?: number } = {},
): RateLookup {
  const ecb = rateForDate(published, from, to, date, opts.maxStalenessDays ?? DEFAULT_MAX_STALENESS_DAYS);
  if (ecb.ok) return ecb;
  const m = manualRateForDate(manual, from, to, date, opts.manualMaxStalenessDays ?? 31);
  return m.ok ? m : ecb;
}

/** FX2 on one precise amount (major units of `rate.baseCurrency`): minor units of the quote currency. */
export function convertToMinorUnits(preciseAmount: string, rate: FxRate): number {
  return roundDecToMinorUnits(dec(preciseAmount, 'amount').times(parseRate(rate.rate)), rate.quoteCurrency);
}

/** The line fields conversion touches (billing's Fee has them; so do stored fee records). */
export interface ConvertibleLine {
  currency: string;
  unitAmount: string;
  preciseAmount: string;
  amountCents: number;
}

/**
 * Converts each line from the rate's base currency into its quote currency: precise amount and unit price
 * × rate (unrounded), amount rounded once (FX2). Lines in another currency are refused (currency_mismatch).
 */
export function convertLines<L extends ConvertibleLine>(lines: readonly L[], rate: FxRate): L[] {
  const r = parseRate(rate.rate);
  currencyExponent(rate.quoteCurrency);
  return lines.map((line, i) => {
    if (line.currency !== rate.baseCurrency) {
      throw new BillingError('currency_mismatch', `Line ${i} is in ${line.currency}, the rate converts from ${rate.baseCurrency}`, 'currency');
    }
    const precise = dec(line.preciseAmount, `fees[${i}].precise_amount`).times(r);
    return {
      ...line,
      currency: rate.quoteCurrency,
      unitAmount: str(dec(line.unitAmount, `fees[${i}].unit_amount`).times(r)),
      preciseAmount: str(precise),
      amountCents: roundDecToMinorUnits(precise, rate.quoteCurrency),
    };
  });
}

/** The one pipeline step: a draft in the price currency → the same draft in the invoice currency. */
export function convertInvoice(draft: InvoiceDraft, rate: FxRate): InvoiceDraft {
  if (draft.currency !== rate.baseCurrency) {
    throw new BillingError('currency_mismatch', `Invoice in ${draft.currency}, the rate converts from ${rate.baseCurrency}`, 'currency');
  }
  const fees: Fee[] = convertLines(draft.fees, rate);
  const feesAmountCents = fees.reduce((a, f) => a + f.amountCents, 0);
  if (!Number.isSafeInteger(feesAmountCents)) throw new BillingError('amount_out_of_range', 'Converted total is not a safe integer');
  // No tax yet on the draft handed here: total = fees (taxes are added after conversion, in the invoice currency).
  const delta = draft.totalAmountCents - draft.feesAmountCents;
  if (delta !== 0) throw new BillingError('fx_after_taxes', 'convertInvoice must run before taxes and credits are applied', 'total_amount_cents');
  return { currency: rate.quoteCurrency, fees, feesAmountCents, totalAmountCents: feesAmountCents };
}

/**
 * A published rate figure as a plain decimal string: "1.0562" stays as is; the exponent form found in old
 * rows of the ECB's history file ("1.3111E+04") becomes "13111". Anything else (N/A, empty, ≤ 0) is null.
 */
export function normalizePublishedRate(figure: string): string | null {
  const s = figure.trim();
  if (isDecimalString(s)) return new D(s).isPositive() && !new D(s).isZero() ? str(new D(s)) : null;
  if (!/^\d+(?:\.\d+)?[eE][+-]?\d{1,3}$/.test(s)) return null;
  const d = new D(s);
  return d.isZero() ? null : str(d);
}
