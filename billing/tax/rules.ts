// Automatic tax rules for customers without explicit tax codes (when the organization enables them), for
// digital services. One decision per invoice, with its reasons recorded:
//   EU customer  — same country as the seller: the seller's (= customer's) rate (domestic, B2B and B2C);
//                  a business with a VIES-valid VAT number in another country: reverse charge at 0 % with the
//                  legal mention (Directive 2006/112/EC art. 44 and 196); a business whose number VIES could not
//                  check (member state unavailable, timeout): VAT at the customer country's rate, marked
//                  unverified (safe side: the invoice can be refreshed once the number is confirmed);
//                  otherwise (consumers, invalid or absent numbers): the customer country's rate (OSS).
//   UK customer  — same logic with UK VAT (a GB seller charges 20 %; a foreign seller reverse-charges a
//                  business with a valid number, charges UK VAT to consumers).
//   US customer  — the organization's configured rate for the customer's state; a state without a configured
//                  rate is recorded as "no nexus configured" at 0 %. No offline source of US rates is reliable.
//   elsewhere    — the organization's configured rate for the country, else 0 % "outside the scope".
// Not modelled: the EU €10,000 micro-business threshold, special territories, reduced rates.
import { BillingError } from '../errors';
import { EU_VAT, isEuCountry, rateOn, UK_VAT, type RateTable } from './rates';
import type { Tax } from './types';

export type CustomerType = 'company' | 'individual';
/** `unknown`: the check could not be done (VIES member state unavailable, timeout): neither valid nor invalid. */
export type VatNumberStatus = 'valid' | 'invalid' | 'unknown' | 'absent';

export type TaxRule =
  | 'eu_domestic'
  | 'eu_b2c'
  | 'eu_reverse_charge'
  | 'eu_b2b_unverified'
  | 'uk_domestic'
  | 'uk_b2c'
  | 'uk_reverse_charge'
  | 'uk_b2b_unverified'
  | 'us_sales_tax'
  | 'us_no_nexus'
  | 'configured_rate'
  | 'outside_scope';

export interface TaxRuleSettings {
  /** ISO 3166-1 alpha-2 of the seller (the organization). */
  sellerCountry: string;
  /** US state (2 letters) → percentage, as the organization configured them. */
  usStateRates?: Record<string, string>;
  /** Other countries (alpha-2) → percentage. */
  countryRates?: Record<string, string>;
}

export interface TaxRuleCustomer {
  country: string | null;
  state?: string | null;
  customerType: CustomerType | null;
  vatNumberStatus: VatNumberStatus;
}

export interface TaxDecision {
  rule: TaxRule;
  /** The tax to apply at the customer level (a synthetic tax object, code `auto_<rule>_<country>`). */
  tax: Tax;
  legalMention: string | null;
  reasons: {
    sellerCountry: string;
    customerCountry: string;
    customerState: string | null;
    customerType: CustomerType | null;
    vatNumberStatus: VatNumberStatus;
    taxPointDate: string;
    rate: string;
    rateSource: string;
  };
  explanation: string;
}

export const EU_REVERSE_CHARGE_MENTION =
  'Reverse charge: VAT to be accounted for by the recipient (Articles 44 and 196 of Council Directive 2006/112/EC).';
export const UK_REVERSE_CHARGE_MENTION = 'Reverse charge: customer to account for UK VAT to HMRC (VAT Act 1994, section 8).';

interface Pick {
  rule: TaxRule;
  rate: string;
  rateSource: string;
  name: string;
  legalMention: string | null;
  explanation: string;
}

function vatRegime(t: RateTable, zone: 'eu' | 'uk', seller: string, country: string, c: TaxRuleCustomer, date: string): Pick {
  const here = rateOn(t, country, date);
  const label = zone === 'eu' ? `VAT ${country}` : 'UK VAT';
  const charge = (rule: TaxRule, why: string): Pick => ({ rule, rate: here.rate, rateSource: here.source, name: `${label} ${here.rate} %`, legalMention: null, explanation: why });
  if (seller === country) return charge(`${zone}_domestic`, `seller and customer both in ${country}: domestic supply at ${country}'s rate`);
  if (c.customerType === 'company' && c.vatNumberStatus === 'valid') {
    return {
      rule: `${zone}_reverse_charge`,
      rate: '0',
      rateSource: 'reverse charge (no rate applies)',
      name: `${label} reverse charge`,
      legalMention: zone === 'eu' ? EU_REVERSE_CHARGE_MENTION : UK_REVERSE_CHARGE_MENTION,
      explanation: `business customer in ${country} with a valid VAT number, seller in ${seller}: reverse charge`,
    };
  }
  if (c.customerType === 'company' && c.vatNumberStatus === 'unknown') {
    return charge(`${zone}_b2b_unverified`, `business customer in ${country} whose VAT number could not be verified: VAT charged at ${country}'s rate until it is`);
  }
  return charge(`${zone}_b2c`, `${c.customerType === 'company' ? `business without a valid VAT number (${c.vatNumberStatus})` : 'consumer'} in ${country}: ${country}'s rate`);
}

function configured(rates: Record<string, string> | undefined, key: string): string | undefined {
  return rates && Object.prototype.hasOwnProperty.call(rates, key) ? rates[key] : undefined;
}

function pickRule(s: TaxRuleSettings, c: TaxRuleCustomer, country: string, date: string): Pick {
  if (isEuCountry(country)) return vatRegime(EU_VAT, 'eu', s.sellerCountry, country, c, date);
  if (country === 'GB') return vatRegime(UK_VAT, 'uk', s.sellerCountry, country, c, date);
  if (country === 'US') {
    const state = c.state ?? null;
    if (!state) throw new BillingError('tax_state_missing', 'A US customer needs a state for sales tax', 'state');
    const rate = configured(s.usStateRates, state);
    if (rate === undefined) {
      return { rule: 'us_no_nexus', rate: '0', rateSource: 'organization settings: no rate configured for this state', name: `US sales tax ${state} (none)`, legalMention: null, explanation: `no sales tax rate configured for ${state}: treated as no nexus` };
    }
    return { rule: 'us_sales_tax', rate, rateSource: `organization settings: US state rate for ${state}`, name: `Sales tax ${state} ${rate} %`, legalMention: null, explanation: `US customer in ${state}: the configured state rate` };
  }
  const rate = configured(s.countryRates, country);
  if (rate === undefined) {
    return { rule: 'outside_scope', rate: '0', rateSource: 'organization settings: no rate configured for this country', name: `No tax ${country}`, legalMention: null, explanation: `customer in ${country}, no rate configured: outside the scope of the configured taxes` };
  }
  return { rule: 'configured_rate', rate, rateSource: `organization settings: rate for ${country}`, name: `Tax ${country} ${rate} %`, legalMention: null, explanation: `customer in ${country}: the configured rate` };
}

/** The automatic tax decision for one invoice, at its tax point date (YYYY-MM-DD). */
export function decideTax(settings: TaxRuleSettings, customer: TaxRuleCustomer, taxPointDate: string): TaxDecision {
  const country = customer.country?.toUpperCase() ?? null;
  if (!country) throw new BillingError('tax_country_missing', 'Automatic tax rules need the customer country', 'country');
  const p = pickRule({ ...settings, sellerCountry: settings.sellerCountry.toUpperCase() }, customer, country, taxPointDate);
  const code = `auto_${p.rule}_${country.toLowerCase()}${p.rule.startsWith('us_') && customer.state ? `_${customer.state.toLowerCase()}` : ''}`;
  return {
    rule: p.rule,
    tax: { id: code, code, name: p.name, rate: p.rate, description: p.explanation },
    legalMention: p.legalMention,
    reasons: {
      sellerCountry: settings.sellerCountry.toUpperCase(),
      customerCountry: country,
      customerState: customer.state ?? null,
      customerType: customer.customerType,
      vatNumberStatus: customer.vatNumberStatus,
      taxPointDate,
      rate: p.rate,
      rateSource: p.rateSource,
    },
    explanation: p.explanation,
  };
}
