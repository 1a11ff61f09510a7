// /taxes in Lago's shapes, tax_codes on customers, plans and charges, and the automatic-tax settings, on a real
// API over a real Postgres.
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_taxes' });
});
afterAll(async () => {
  await h?.stop();
});

const LAGO_ID = /^[0-9a-f-]{36}$/;

describe('/taxes', () => {
  test('create answers Lago’s tax object; the rate string "20.0" is stored exactly and answered as 20', async () => {
    const res = await h.request('POST', '/taxes', { tax: { name: 'TVA', code: 'fr_vat', rate: '20.0', description: 'French standard VAT', applied_to_organization: false } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      tax: { lago_id: expect.stringMatching(LAGO_ID), name: 'TVA', code: 'fr_vat', rate: 20, description: 'French standard VAT', applied_to_organization: false, created_at: expect.any(String) },
    });
    const got = await h.request('GET', '/taxes/fr_vat');
    expect(got.body).toEqual(res.body);
  });

  test('a fractional rate keeps its decimals (8.875)', async () => {
    const res = await h.request('POST', '/taxes', { tax: { name: 'NY', code: 'ny_sales', rate: '8.875' } });
    expect(res.body.tax.rate).toBe(8.875);
    const row = await h.database.db('taxes').where({ organization_id: h.org.id, code: 'ny_sales' }).first();
    expect(String(row.rate)).toBe('8.87500');
  });

  test('a duplicate code is a 422 value_already_exist, and nothing is written', async () => {
    const res = await h.request('POST', '/taxes', { tax: { name: 'Again', code: 'fr_vat', rate: '5' } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ code: ['value_already_exist'] });
    expect((await h.request('GET', '/taxes/fr_vat')).body.tax.name).toBe('TVA');
  });

  test.each([['-1'], ['100.5'], ['abc'], ['1e2'], ['12.123456']])('rate %s is refused with the field named', async (rate) => {
    const res = await h.request('POST', '/taxes', { tax: { name: 'x', code: `bad_${rate}`, rate } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ rate: ['value_is_invalid'] });
  });

  test('update changes the given fields only; an unknown code is a 404 tax_not_found', async () => {
    await h.request('POST', '/taxes', { tax: { name: 'Old', code: 'upd', rate: '10' } });
    const res = await h.request('PUT', '/taxes/upd', { tax: { rate: '12.5', applied_to_organization: true } });
    expect(res.status).toBe(200);
    expect(res.body.tax).toMatchObject({ code: 'upd', name: 'Old', rate: 12.5, applied_to_organization: true });
    const missing = await h.request('PUT', '/taxes/nope', { tax: { rate: '1' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, code: 'tax_not_found' });
  });

  test('list is paginated with Lago’s meta', async () => {
    const res = await h.request('GET', '/taxes?page=1&per_page=2');
    expect(res.status).toBe(200);
    expect(res.body.taxes).toHaveLength(2);
    expect(res.body.meta).toEqual({ current_page: 1, next_page: 2, prev_page: null, total_pages: 2, total_count: 3 });
    const page2 = await h.request('GET', '/taxes?page=2&per_page=2');
    expect(page2.body.taxes.map((t: { code: string }) => t.code)).toEqual(['upd']);
  });

  test('delete answers the deleted tax and detaches it from customers', async () => {
    await h.request('POST', '/taxes', { tax: { name: 'Gone', code: 'gone', rate: '3' } });
    await h.request('POST', '/customers', { customer: { external_id: 'c-gone', tax_codes: ['gone'] } });
    const res = await h.request('DELETE', '/taxes/gone');
    expect(res.status).toBe(200);
    expect(res.body.tax.code).toBe('gone');
    expect((await h.request('GET', '/taxes/gone')).status).toBe(404);
    expect((await h.request('GET', '/customers/c-gone')).body.customer.taxes).toEqual([]);
    expect((await h.request('DELETE', '/taxes/gone')).status).toBe(404);
  });

  test('taxes are scoped by organization: another organization’s API key does not see them', async () => {
    const { createApiKey, ensureOrganization } = await import('../../db/repositories/organizations');
    const other = await ensureOrganization(h.database.db, `other-${h.org.id.slice(0, 8)}`, 'Other');
    const key = await createApiKey(h.database.db, other.id);
    const res = await h.request('GET', '/taxes/fr_vat', undefined, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(404);
  });
});

describe('tax_codes', () => {
  beforeAll(async () => {
    await h.request('POST', '/taxes', { tax: { name: 'Plan tax', code: 'plan_tax', rate: '10' } });
    await h.request('POST', '/taxes', { tax: { name: 'Charge tax', code: 'charge_tax', rate: '20' } });
    await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } });
  });

  test('a customer’s tax_codes replace its taxes and show in Lago’s customer.taxes', async () => {
    const res = await h.request('POST', '/customers', { customer: { external_id: 'c1', country: 'FR', customer_type: 'company', tax_codes: ['fr_vat', 'plan_tax'] } });
    expect(res.status).toBe(200);
    expect(res.body.customer.taxes.map((t: { code: string }) => t.code).sort()).toEqual(['fr_vat', 'plan_tax']);
    expect(res.body.customer.customer_type).toBe('company');
    const again = await h.request('POST', '/customers', { customer: { external_id: 'c1', tax_codes: ['fr_vat'] } });
    expect(again.body.customer.taxes.map((t: { code: string }) => t.code)).toEqual(['fr_vat']);
    // without tax_codes the taxes are left as they are
    const kept = await h.request('POST', '/customers', { customer: { external_id: 'c1', name: 'Renamed' } });
    expect(kept.body.customer.taxes.map((t: { code: string }) => t.code)).toEqual(['fr_vat']);
  });

  test('an unknown customer tax code is a 404 tax_not_found and the customer is not created', async () => {
    const res = await h.request('POST', '/customers', { customer: { external_id: 'c-unknown', tax_codes: ['fr_vat', 'nope'] } });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'tax_not_found', error_details: { tax_codes: ['nope'] } });
    expect((await h.request('GET', '/customers/c-unknown')).status).toBe(404);
  });

  test('plan and charge tax_codes are stored and answered on the plan and its charges', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'P', code: 'p_taxed', interval: 'monthly', amount_cents: 1000, amount_currency: 'EUR', tax_codes: ['plan_tax'],
        charges: [
          { billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '1' }, tax_codes: ['charge_tax'] },
          { billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '2' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.plan.taxes.map((t: { code: string }) => t.code)).toEqual(['plan_tax']);
    expect(res.body.plan.charges.map((c: { taxes: { code: string }[] }) => c.taxes.map((t) => t.code))).toEqual([['charge_tax'], []]);
    const got = await h.request('GET', '/plans/p_taxed');
    expect(got.body.plan.taxes).toEqual(res.body.plan.taxes);
    expect(got.body.plan.charges[0].taxes).toEqual(res.body.plan.charges[0].taxes);
  });

  test('an unknown charge tax code names the charge’s field, and no plan is written', async () => {
    const res = await h.request('POST', '/plans', {
      plan: { name: 'P', code: 'p_bad_tax', interval: 'monthly', amount_cents: 0, amount_currency: 'EUR', charges: [{ billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '1' }, tax_codes: ['missing'] }] },
    });
    expect(res.status).toBe(404);
    expect(res.body.error_details).toEqual({ 'charges[0].tax_codes': ['missing'] });
    expect((await h.request('GET', '/plans/p_bad_tax')).status).toBe(404);
  });
});

describe('/tax_settings', () => {
  test('defaults to disabled; PUT stores the seller country and configured rates', async () => {
    expect((await h.request('GET', '/tax_settings')).body.tax_settings).toEqual({ automatic_taxes_enabled: false, seller_country: null, us_state_rates: {}, country_rates: {}, tax_provider: null });
    const res = await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: true, seller_country: 'FR', us_state_rates: { NY: '8.875' }, country_rates: { CH: 8.1 } } });
    expect(res.status).toBe(200);
    expect(res.body.tax_settings).toEqual({ automatic_taxes_enabled: true, seller_country: 'FR', us_state_rates: { NY: '8.875' }, country_rates: { CH: '8.1' }, tax_provider: null });
  });

  test('failed13: a tax engine is stored with the settings, its key never read back (last 4), kept when absent, removed by null', async () => {
    const engine = { provider: 'anrok', code: 'anrok_prod', api_url: 'https://aggregator.example.test', api_key: 'secret-key-1234' };
    const set = await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: false, tax_provider: engine } });
    expect(set.status).toBe(200);
    const shown = { provider: 'anrok', code: 'anrok_prod', api_url: 'https://aggregator.example.test', api_key_last4: '1234' };
    expect(set.body.tax_settings.tax_provider).toEqual(shown);
    expect((await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: false } })).body.tax_settings.tax_provider).toEqual(shown);
    expect((await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: false, tax_provider: null } })).body.tax_settings.tax_provider).toBeNull();
    const bad = await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: false, tax_provider: { ...engine, api_url: 'not a url' } } });
    expect(bad.status).toBe(422);
  });

  test('enabling without a seller country is refused with the field named', async () => {
    const res = await h.request('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: true } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ seller_country: ['value_is_mandatory'] });
  });
});
