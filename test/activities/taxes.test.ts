// The taxes step wired into period invoices: real Postgres, the real activities (close, refresh, finalize).
import { createActivities } from '../../activities';
import { getInvoice } from '../../db/repositories/invoices';
import { createTax, putTaxProviderConnection, putTaxSettings, setTaxes } from '../../db/repositories/taxes';
import { startFakeTaxEngineServer, type FakeTaxEngineServer } from '../support/fake-tax-engine';
import { recordVatNumberCheck } from '../../db/repositories/customer-vat';
import { EU_REVERSE_CHARGE_MENTION } from '../../billing/tax';
import { createBillingSetup, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_tax');
});
afterAll(async () => {
  await t.drop();
});

/** $20.00 a month + 0.000002 per token; 123,456,789 tokens in November → 2000 + 24691 cents. */
async function setup(period = NOV) {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
    charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.000002' } }],
  });
  const mid = new Date((Date.parse(period.start) + Date.parse(period.end)) / 2).toISOString();
  await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: mid, properties: { tokens: 123456789 } }]);
  const chargeId: string = (await t.db('charges').where({ plan_id: s.plan.id }).first('id')).id;
  const activities = createActivities({ db: t.db });
  const input = { organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription' as const, period, fullPeriod: period };
  return { ...s, chargeId, activities, input };
}

const tax = (code: string, rate: string) => ({ code, name: code.toUpperCase(), rate, description: null, appliedToOrganization: false });

describe('taxes on period invoices', () => {
  it('a plan tax of 20 % on a period close: taxes_amount_cents 5338 on 26691 cents of fees, total 32029, Lago applied_taxes', async () => {
    const s = await setup();
    const vat = await createTax(t.db, s.org.id, tax('vat20', '20'));
    await setTaxes(t.db, s.org.id, 'plan', s.plan.id, [vat.id]);

    const res = await s.activities.createPeriodInvoice(s.input);

    // fees 2000 + 24691 = 26691; 20 % of each: 400 and 4938.2 → 4938; the invoice: 26691 × 20 % = 5338.2 → 5338
    expect(res.totalAmountCents).toBe(26691 + 5338);
    const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
    expect(inv).toMatchObject({ feesAmountCents: 26691, taxesAmountCents: 5338, totalAmountCents: 32029 });
    expect(inv.taxes.appliedTaxes).toEqual([
      expect.objectContaining({ taxId: vat.id, taxCode: 'vat20', taxRate: '20', amountCents: 5338, feesAmountCents: 26691, amountCurrency: 'USD' }),
    ]);
    expect(inv.taxes.taxesRate).toBe('20');
    expect(inv.taxes.taxDecision).toBeNull();
    const byType = Object.fromEntries(inv.fees.map((f) => [f.feeType, f]));
    expect(byType.subscription!.taxes).toMatchObject({ taxesAmountCents: 400, taxesRate: '20', appliedTaxes: [expect.objectContaining({ taxCode: 'vat20', amountCents: 400 })] });
    expect(byType.charge!.taxes).toMatchObject({ taxesAmountCents: 4938, taxesPreciseAmountCents: '4938.2' });
    // the fee amounts themselves are unchanged (taxes are on top)
    expect(inv.fees.reduce((a, f) => a + f.amountCents, 0)).toBe(26691);
  });

  it('a charge tax beats the plan tax for its fees, the plan tax keeps the subscription fee; finalization keeps both', async () => {
    const s = await setup();
    const plan = await createTax(t.db, s.org.id, tax('plan20', '20'));
    const charge = await createTax(t.db, s.org.id, tax('charge10', '10'));
    await setTaxes(t.db, s.org.id, 'plan', s.plan.id, [plan.id]);
    await setTaxes(t.db, s.org.id, 'charge', s.chargeId, [charge.id]);

    const res = await s.activities.createPeriodInvoice(s.input);
    const fin = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: res.invoiceId });
    const inv = (await getInvoice(t.db, s.org.id, fin.invoiceId))!;
    expect(inv.status).toBe('finalized');
    // 2000 × 20 % = 400; 24691 × 10 % = 2469.1 → 2469
    expect(inv.taxes.appliedTaxes.map((a) => [a.taxCode, a.amountCents, a.feesAmountCents])).toEqual([
      ['plan20', 400, 2000],
      ['charge10', 2469, 24691],
    ]);
    expect(inv).toMatchObject({ taxesAmountCents: 2869, totalAmountCents: 26691 + 2869 });
  });

  it('the organization default applies when neither customer nor plan has taxes; a customer tax beats it', async () => {
    const s = await setup();
    await createTax(t.db, s.org.id, { ...tax('org5', '5'), appliedToOrganization: true });
    const first = await s.activities.createPeriodInvoice(s.input);
    expect((await getInvoice(t.db, s.org.id, first.invoiceId))!.taxesAmountCents).toBe(1335); // 26691 × 5 % = 1334.55 → 1335

    const cust = await createTax(t.db, s.org.id, tax('cust7', '7'));
    await setTaxes(t.db, s.org.id, 'customer', s.customer.id, [cust.id]);
    const refreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: first.invoiceId });
    const inv = (await getInvoice(t.db, s.org.id, refreshed.invoiceId))!;
    expect(inv.taxes.appliedTaxes.map((a) => a.taxCode)).toEqual(['cust7']);
    expect(inv.taxesAmountCents).toBe(1868); // 26691 × 7 % = 1868.37 → 1868
  });

  it('no taxes anywhere: taxes_amount_cents 0 and the total is the fees', async () => {
    const s = await setup();
    const res = await s.activities.createPeriodInvoice(s.input);
    const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
    expect(inv).toMatchObject({ taxesAmountCents: 0, totalAmountCents: 26691 });
    expect(inv.taxes.appliedTaxes).toEqual([]);
  });

  describe('automatic rules', () => {
    async function customer(id: string, values: Record<string, unknown>) {
      await t.db('customers').where({ id }).update(values);
    }

    it('cross-border B2B with a VIES-valid VAT number: reverse charge at 0 %, the decision and legal mention recorded', async () => {
      const s = await setup();
      await putTaxSettings(t.db, s.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
      await customer(s.customer.id, { country: 'DE', customer_type: 'company', tax_identification_number: 'DE136695976' });
      await recordVatNumberCheck(t.db, s.org.id, s.customer.id, 'DE136695976', 'valid', { reason: 'VIES VALID' }, new Date('2026-11-30T00:00:00Z'));

      const res = await s.activities.createPeriodInvoice(s.input);
      const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
      expect(inv.taxesAmountCents).toBe(0);
      expect(inv.taxes.appliedTaxes).toEqual([expect.objectContaining({ taxCode: 'auto_eu_reverse_charge_de', taxRate: '0', amountCents: 0, feesAmountCents: 26691 })]);
      expect(inv.taxes.taxDecision).toMatchObject({
        rule: 'eu_reverse_charge',
        legalMention: EU_REVERSE_CHARGE_MENTION,
        reasons: { sellerCountry: 'FR', customerCountry: 'DE', customerType: 'company', vatNumberStatus: 'valid', taxPointDate: '2026-11-30' },
      });
    });

    it('the same business whose number was never checked is charged DE VAT (19 %), marked unverified', async () => {
      const s = await setup();
      await putTaxSettings(t.db, s.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
      await customer(s.customer.id, { country: 'DE', customer_type: 'company', tax_identification_number: 'DE136695976' });
      const res = await s.activities.createPeriodInvoice(s.input);
      const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
      expect(inv.taxesAmountCents).toBe(5071); // 26691 × 19 % = 5071.29
      expect(inv.taxes.taxDecision).toMatchObject({ rule: 'eu_b2b_unverified', reasons: { vatNumberStatus: 'unknown' } });
    });

    it.each([
      [{ start: '2024-08-01T00:00:00.000Z', end: '2024-09-01T00:00:00.000Z' }, '24', 6406], // 26691 × 24 % = 6405.84
      [{ start: '2024-09-01T00:00:00.000Z', end: '2024-10-01T00:00:00.000Z' }, '25.5', 6806], // 26691 × 25.5 % = 6806.205
    ])('a FI consumer is taxed at the FI rate of the period’s last day: %j → %s %%', async (period, rate, cents) => {
      const s = await setup(period);
      await putTaxSettings(t.db, s.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
      await customer(s.customer.id, { country: 'FI', customer_type: 'individual' });
      const res = await s.activities.createPeriodInvoice(s.input);
      const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
      expect(inv.taxes.appliedTaxes[0]).toMatchObject({ taxRate: rate });
      expect(inv.taxesAmountCents).toBe(cents);
    });

    it('a customer with its own tax codes is not subject to the rules', async () => {
      const s = await setup();
      await putTaxSettings(t.db, s.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
      await customer(s.customer.id, { country: 'FI', customer_type: 'individual' });
      const own = await createTax(t.db, s.org.id, tax('own1', '1'));
      await setTaxes(t.db, s.org.id, 'customer', s.customer.id, [own.id]);
      const res = await s.activities.createPeriodInvoice(s.input);
      const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
      expect(inv.taxes.appliedTaxes.map((a) => a.taxCode)).toEqual(['own1']);
      expect(inv.taxes.taxDecision).toBeNull();
    });

    it('rules on and no customer country: the close fails with a non-retryable tax_country_missing, nothing is taxed by guess', async () => {
      const s = await setup();
      await putTaxSettings(t.db, s.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
      await expect(s.activities.createPeriodInvoice(s.input)).rejects.toMatchObject({ type: 'tax_country_missing', nonRetryable: true });
      const [{ n }] = await t.db('invoices').where({ subscription_id: s.sub.id }).count<{ n: string | number }[]>({ n: '*' });
      expect(Number(n)).toBe(0); // the claim was rolled back with the failed transaction
    });
  });
});

// failed13: an organization taxed by an external engine (the fake Anrok over HTTP) at finalization.
describe('an external tax engine at finalization (failed13)', () => {
  let engine: FakeTaxEngineServer;
  beforeAll(async () => { engine = await startFakeTaxEngineServer(); });
  afterAll(async () => { await engine.close(); });

  async function engineSetup(zipcode: string | null) {
    const s = await setup();
    await putTaxProviderConnection(t.db, s.org.id, { provider: 'anrok', code: 'anrok_prod', apiUrl: engine.url, apiKey: engine.apiKey });
    await t.db('customers').where({ id: s.customer.id }).update({ country: 'US', state: 'NY', zipcode });
    return s;
  }

  it('the one-step close (no grace period) finalizes with the engine\'s taxes, asked once with invoice:<id>:taxes', async () => {
    const s = await engineSetup('10001');
    const res = await s.activities.closePeriodInvoice(s.input);
    expect(res.status).toBe('finalized');
    const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
    // 2000 × 8.875 % = 177.5 → 178; 24691 × 8.875 % = 2191.33 → 2191 (the engine rounds each line)
    expect(inv).toMatchObject({ feesAmountCents: 26691, taxesAmountCents: 178 + 2191, totalAmountCents: 26691 + 2369 });
    expect(inv.taxes.appliedTaxes.map((a) => [a.taxCode, a.taxRate, a.amountCents])).toEqual([['sales_tax_us_ny', '8.875', 2369]]);
    expect(engine.calls.filter((k) => k === `invoice:${res.invoiceId}:taxes`)).toHaveLength(1);
  });

  it('an address the engine cannot place: the close leaves a draft, finalizeInvoice marks it failed (error details, no number); after the fix it is finalized and numbered', async () => {
    const s = await engineSetup(null);
    const closed = await s.activities.closePeriodInvoice(s.input);
    expect(closed.status).toBe('draft');
    const failed = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: closed.invoiceId });
    expect(failed.status).toBe('failed');
    expect(await t.db('invoices').where({ id: closed.invoiceId }).first('status', 'number')).toEqual({ status: 'failed', number: null });
    const details = await t.db('invoice_error_details').where({ invoice_id: closed.invoiceId }).select('error_code', 'details');
    expect(details).toEqual([{ error_code: 'tax_error', details: { tax_error: 'customerAddressCouldNotResolve', tax_error_message: expect.any(String) } }]);
    // A re-run of the activity on the failed invoice replaces the detail (one at a time), it does not add one.
    expect((await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: closed.invoiceId })).status).toBe('failed');
    expect(await t.db('invoice_error_details').where({ invoice_id: closed.invoiceId }).select('id')).toHaveLength(1);

    await t.db('customers').where({ id: s.customer.id }).update({ zipcode: '10001' });
    const fin = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: closed.invoiceId });
    expect(fin.status).toBe('finalized');
    const inv = (await getInvoice(t.db, s.org.id, closed.invoiceId))!;
    expect(inv).toMatchObject({ status: 'finalized', taxesAmountCents: 2369, totalAmountCents: 26691 + 2369 });
    expect(inv.number).toMatch(/-000001$/);
    expect(await t.db('invoice_error_details').where({ invoice_id: closed.invoiceId }).select('id')).toEqual([]);
  });

  it('a transient engine error (503) is rethrown for the retry policy, not a business failure, and leaves the draft as it was', async () => {
    const s = await engineSetup('10001');
    const draft = await s.activities.createPeriodInvoice(s.input);
    engine.failNext.push('http_503');
    const err = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', code: 'tax_provider_unavailable' });
    expect(await t.db('invoices').where({ id: draft.invoiceId }).first('status')).toEqual({ status: 'draft' });
    expect((await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId })).status).toBe('finalized');
  });
});
