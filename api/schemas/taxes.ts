// Lago's /taxes bodies (TaxCreateInput / TaxUpdateInput) and Meterline's automatic-tax settings.
// `rate` is a percentage, accepted as Lago sends it (a decimal string such as "20.0", or a JSON number), kept
// as a decimal string: 0 to 100, at most 5 decimals.
import { z } from 'zod';

const RATE_RE = /^(?:0|[1-9]\d{0,2})(?:\.\d{1,5})?$/;

/** "20.0" → "20", "08.875" is refused, 100.5 is out of range; no float arithmetic (string checks only). */
function canonicalRate(v: string): string | null {
  if (!RATE_RE.test(v)) return null;
  const [int, frac = ''] = v.split('.');
  const trimmed = frac.replace(/0+$/, '');
  if (Number(int) > 100 || (int === '100' && trimmed !== '')) return null;
  return trimmed === '' ? int! : `${int}.${trimmed}`;
}

export const taxRate = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const c = canonicalRate(typeof v === 'number' ? String(v) : v.trim());
    if (c === null) {
      ctx.addIssue({ code: 'custom', message: 'value_is_invalid' });
      return z.NEVER;
    }
    return c;
  });

export const taxCodes = z.array(z.string().min(1).max(255)).max(100);

const TaxFields = {
  name: z.string().min(1).max(255),
  code: z.string().min(1).max(255),
  rate: taxRate,
  description: z.string().max(2000).nullable().optional(),
  applied_to_organization: z.boolean().optional(),
};

export const TaxCreateBody = z.object({ tax: z.object(TaxFields) });
export const TaxUpdateBody = z.object({ tax: z.object(TaxFields).partial() });

const Country = z.string().regex(/^[A-Z]{2}$/, 'not_a_valid_country_code');

export const TaxSettingsBody = z.object({
  tax_settings: z.object({
    automatic_taxes_enabled: z.boolean(),
    seller_country: Country.nullable().optional(),
    us_state_rates: z.record(z.string().regex(/^[A-Z]{2}$/, 'value_is_invalid'), taxRate).optional().default({}),
    country_rates: z.record(Country, taxRate).optional().default({}),
    // failed13: the external tax engine (Lago's tax integrations; Anrok through Lago's integration-aggregator
    // protocol, adapters/tax-provider/aggregator-http.ts). Absent: unchanged; null: removed.
    tax_provider: z.object({
      provider: z.literal('anrok'),
      code: z.string().min(1).max(255),
      api_url: z.string().url(),
      api_key: z.string().min(1).max(1000),
    }).nullable().optional(),
  }).superRefine((s, ctx) => {
    if (s.automatic_taxes_enabled && !s.seller_country) {
      ctx.addIssue({ code: 'custom', path: ['seller_country'], message: 'value_is_mandatory' });
    }
  }),
});
