// VAT number format and checksum (offline), with the maintained `jsvat-next` library (pure: no I/O). This only
// says whether a number CAN be valid; whether it is registered is VIES's answer (adapters/vies).
import { checkVAT, countries } from 'jsvat-next';

export interface VatNumberFormat {
  /** Upper-case, without spaces, dots or dashes, with its country prefix (Greece: EL). */
  normalized: string;
  /** ISO 3166-1 alpha-2 of the country the number belongs to (Greece: GR), null when unknown. */
  country: string | null;
  /** The VIES member-state code (as `country`, but EL for Greece). */
  viesCountryCode: string | null;
  /** The number without its country prefix, as VIES expects it. */
  localNumber: string;
  formatValid: boolean;
}

export function normalizeVatNumber(raw: string): string {
  return raw.toUpperCase().replace(/[\s.\-/]/g, '');
}

export function checkVatNumberFormat(raw: string): VatNumberFormat {
  const normalized = normalizeVatNumber(raw);
  const r = checkVAT(normalized, countries);
  const country = r.country?.isoCode.short ?? null;
  const viesCountryCode = country === 'GR' ? 'EL' : country;
  const prefix = normalized.slice(0, 2);
  const localNumber = /^[A-Z]{2}/.test(prefix) ? normalized.slice(2) : normalized;
  return { normalized, country, viesCountryCode, localNumber, formatValid: r.isValid };
}
