import { applyTaxes, decideTax, EU_COUNTRIES, EU_REVERSE_CHARGE_MENTION, EU_VAT, rateOn, type TaxRuleCustomer } from '../../billing/tax';

const company = (country: string, vatNumberStatus: TaxRuleCustomer['vatNumberStatus']): TaxRuleCustomer => ({ country, customerType: 'company', vatNumberStatus });
const person = (country: string, state?: string): TaxRuleCustomer => ({ country, state: state ?? null, customerType: 'individual', vatNumberStatus: 'absent' });
const FR_SELLER = { sellerCountry: 'FR' };

describe('EU VAT rate table', () => {
  it('has the 27 member states, each with a rate from 2020-01-01', () => {
    expect(EU_COUNTRIES).toHaveLength(27);
    for (const c of EU_COUNTRIES) expect(rateOn(EU_VAT, c, '2020-01-01').rate).toMatch(/^\d+(\.\d+)?$/);
  });

  it.each([
    ['EE', '2025-06-30', '22'],
    ['EE', '2025-07-01', '24'],
    ['FI', '2024-08-31', '24'],
    ['FI', '2024-09-01', '25.5'],
    ['RO', '2025-07-31', '19'],
    ['RO', '2025-08-01', '21'],
    ['SK', '2024-12-31', '20'],
    ['SK', '2025-01-01', '23'],
    ['DE', '2020-12-31', '16'],
    ['DE', '2021-01-01', '19'],
  ])('%s on %s is %s %%', (country, date, rate) => {
    expect(rateOn(EU_VAT, country, date).rate).toBe(rate);
  });

  it('refuses a date before the table covers (no guess)', () => {
    expect(() => rateOn(EU_VAT, 'FR', '2019-12-31')).toThrow(/no rate for FR/);
  });
});

describe('automatic tax rules', () => {
  it('EU B2C across borders: the customer country rate, by the tax point date (EE 22 → 24 on 2025-07-01)', () => {
    expect(decideTax(FR_SELLER, person('EE'), '2025-06-30')).toMatchObject({ rule: 'eu_b2c', tax: { rate: '22' }, legalMention: null });
    const d = decideTax(FR_SELLER, person('EE'), '2025-07-01');
    expect(d).toMatchObject({ rule: 'eu_b2c', tax: { rate: '24', code: 'auto_eu_b2c_ee' } });
    expect(d.reasons).toMatchObject({ customerCountry: 'EE', customerType: 'individual', vatNumberStatus: 'absent', rate: '24' });
    expect(d.reasons.rateSource).toMatch(/in force from 2025-07-01/);
  });

  it('EU B2B across borders with a valid VAT number: reverse charge at 0 % with the legal mention', () => {
    const d = decideTax(FR_SELLER, company('DE', 'valid'), '2026-01-15');
    expect(d).toMatchObject({ rule: 'eu_reverse_charge', tax: { rate: '0' }, legalMention: EU_REVERSE_CHARGE_MENTION });
    expect(d.reasons.vatNumberStatus).toBe('valid');
  });

  it('EU B2B with an invalid VAT number is taxed like a consumer, at the customer country rate', () => {
    expect(decideTax(FR_SELLER, company('FI', 'invalid'), '2024-09-01')).toMatchObject({ rule: 'eu_b2c', tax: { rate: '25.5' } });
  });

  it('EU B2B whose number VIES could not check (unknown) is not reverse-charged: charged, marked unverified', () => {
    expect(decideTax(FR_SELLER, company('SK', 'unknown'), '2025-01-01')).toMatchObject({ rule: 'eu_b2b_unverified', tax: { rate: '23' }, legalMention: null });
  });

  it('domestic B2B: the seller rate even with a valid VAT number', () => {
    expect(decideTax({ sellerCountry: 'RO' }, company('RO', 'valid'), '2025-07-31')).toMatchObject({ rule: 'eu_domestic', tax: { rate: '19' } });
    expect(decideTax({ sellerCountry: 'RO' }, company('RO', 'valid'), '2025-08-01')).toMatchObject({ rule: 'eu_domestic', tax: { rate: '21' } });
  });

  it('a non-EU seller charges EU consumers the customer country rate', () => {
    expect(decideTax({ sellerCountry: 'US' }, person('FI'), '2024-08-31')).toMatchObject({ rule: 'eu_b2c', tax: { rate: '24' } });
  });

  it('UK: 20 % to consumers and for a GB seller, reverse charge for a business with a valid number', () => {
    expect(decideTax(FR_SELLER, person('GB'), '2026-01-01')).toMatchObject({ rule: 'uk_b2c', tax: { rate: '20' } });
    expect(decideTax({ sellerCountry: 'GB' }, company('GB', 'valid'), '2026-01-01')).toMatchObject({ rule: 'uk_domestic', tax: { rate: '20' } });
    expect(decideTax(FR_SELLER, company('GB', 'valid'), '2026-01-01')).toMatchObject({ rule: 'uk_reverse_charge', tax: { rate: '0' } });
  });

  it('US: the configured state rate; an unconfigured state is recorded as no nexus at 0 %', () => {
    const s = { sellerCountry: 'US', usStateRates: { NY: '8.875', TX: '6.25' } };
    expect(decideTax(s, person('US', 'NY'), '2026-01-01')).toMatchObject({ rule: 'us_sales_tax', tax: { rate: '8.875', code: 'auto_us_sales_tax_us_ny' } });
    expect(decideTax(s, person('US', 'OR'), '2026-01-01')).toMatchObject({ rule: 'us_no_nexus', tax: { rate: '0' } });
    expect(() => decideTax(s, person('US'), '2026-01-01')).toThrow(/needs a state/);
  });

  it('other countries: the configured rate, else outside the scope at 0 %', () => {
    const s = { sellerCountry: 'FR', countryRates: { CH: '8.1' } };
    expect(decideTax(s, person('CH'), '2026-01-01')).toMatchObject({ rule: 'configured_rate', tax: { rate: '8.1' } });
    expect(decideTax(s, person('JP'), '2026-01-01')).toMatchObject({ rule: 'outside_scope', tax: { rate: '0' } });
  });

  it('refuses a customer without a country (no guess)', () => {
    expect(() => decideTax(FR_SELLER, { country: null, customerType: 'individual', vatNumberStatus: 'absent' }, '2026-01-01')).toThrow(/customer country/);
  });

  it('the decided tax plugs into applyTaxes as the automatic level: 10000 cents to a FI consumer after 2024-09-01 → 2550', () => {
    const d = decideTax(FR_SELLER, person('FI'), '2024-09-01');
    const out = applyTaxes([{ kind: 'subscription', chargeId: null, amountCents: 10000 }], { currency: 'EUR', assignments: { automatic: [d.tax] } });
    expect(out.taxesAmountCents).toBe(2550);
    expect(out.appliedTaxes[0]).toMatchObject({ taxCode: 'auto_eu_b2c_fi', taxRate: '25.5', amountCents: 2550 });
  });
});
