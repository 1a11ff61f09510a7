// Dated VAT rate tables (data in ./rates/*.json) and the rate in force on a tax point date: the entry with the
// latest `from` on or before the date. Dates are ISO calendar dates (YYYY-MM-DD) compared as strings.
import { BillingError } from '../errors';
import { isDecimalString } from '../money';
import euVat from './rates/eu-vat.json';
import ukVat from './rates/uk-vat.json';

export interface RateEntry {
  from: string;
  rate: string;
  note?: string;
}

export interface RateTable {
  name: string;
  source: string;
  coversFrom: string;
  rates: Record<string, RateEntry[]>;
}

export interface ResolvedRate {
  country: string;
  rate: string;
  effectiveFrom: string;
  source: string;
}

function table(raw: { name: string; source: string; covers_from: string; rates: Record<string, RateEntry[]> }): RateTable {
  for (const [country, entries] of Object.entries(raw.rates)) {
    entries.forEach((e, i) => {
      if (!isDecimalString(e.rate) || !DATE_RE.test(e.from) || (i > 0 && entries[i - 1]!.from >= e.from)) {
        throw new BillingError('invalid_rate_table', `${raw.name}: bad entry ${i} for ${country}`);
      }
    });
  }
  return { name: raw.name, source: raw.source, coversFrom: raw.covers_from, rates: raw.rates };
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export const EU_VAT: RateTable = table(euVat);
export const UK_VAT: RateTable = table(ukVat);
export const EU_COUNTRIES: readonly string[] = Object.keys(EU_VAT.rates);

export function isEuCountry(country: string): boolean {
  return Object.prototype.hasOwnProperty.call(EU_VAT.rates, country);
}

/** The rate of `country` in force on `date` (YYYY-MM-DD); throws `tax_rate_missing` outside the table. */
export function rateOn(t: RateTable, country: string, date: string): ResolvedRate {
  if (!DATE_RE.test(date)) throw new BillingError('invalid_tax_point_date', `Not a date: ${date}`, 'tax_point_date');
  const entries = t.rates[country];
  let found: RateEntry | undefined;
  for (const e of entries ?? []) if (e.from <= date) found = e;
  if (!found) throw new BillingError('tax_rate_missing', `${t.name}: no rate for ${country} on ${date}`, 'country');
  return { country, rate: found.rate, effectiveFrom: found.from, source: `${t.name} (${t.source}), in force from ${found.from}` };
}
