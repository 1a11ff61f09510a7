// Invoices in another currency over HTTP, and their PDF: POST /invoices/:id/download answers the invoice with
// its file_url, the file is served (authenticated) from that URL, its text says what the invoice says, and
// rendering the same invoice twice gives the same bytes.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { parseEcbXml } from '../../adapters/fx/ecb-parser';
import { FakeFxFeed } from '../../adapters/fx/fake';
import { upsertPublishedRates } from '../../db/repositories/fx-rates';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { renderStoredInvoice } from '../../documents/invoice-document';
import { recordVatNumberCheck } from '../../db/repositories/customer-vat';
import { createTax, putTaxSettings, setTaxes } from '../../db/repositories/taxes';
import { EU_REVERSE_CHARGE_MENTION } from '../../billing/tax';
import { createCustomer, createMetric, createPlan, createSubscription, insertEvents } from '../support/fixtures';
import { startApiHarness, type ApiHarness } from './harness';
import { pdfText as pdfTextOf } from '../support/pdf-text';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-pdf-'));
const RATES = parseEcbXml(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'ecb', 'eurofxref-hist-90d.xml'), 'utf8'));

let h: ApiHarness;
let finalizedId: string;
let draftId: string;

function pdfText(bytes: Buffer): string {
  return pdfTextOf(bytes, DATA_DIR);
}

async function periodInvoice(customerCurrency: string, name: string, prepare?: (customerId: string) => Promise<void>) {
  const db = h.database.db;
  const customer = await createCustomer(db, h.org.id, { currency: customerCurrency, timezone: 'UTC' });
  await db('customers').where({ id: customer.id }).update({ name, email: 'billing@globex.example', country: 'FR' });
  const metric = await createMetric(db, h.org.id, { code: `tokens_${customer.id.slice(0, 6)}`, aggregationType: 'sum_agg', fieldName: 'tokens' });
  const plan = await createPlan(db, h.org.id, { amountCents: 2000, payInAdvance: false, charges: [{ metricId: metric.id, properties: { amount: '0.000002' } }] });
  const sub = await createSubscription(db, h.org.id, customer.id, plan.id);
  await insertEvents(db, { organizationId: h.org.id, subscriptionId: sub.id, externalSubscriptionId: sub.externalId }, [
    { code: metric.code, timestamp: '2026-11-15T12:00:00.000Z', properties: { tokens: 123456789 } },
  ]);
  if (prepare) await prepare(customer.id);
  const activities = createActivities({ db, fxFeed: new FakeFxFeed([]) });
  return activities.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  h = await startApiHarness({ prefix: 'api_pdf' });
  await upsertPublishedRates(h.database.db, 'ecb', RATES);
  expect((await h.request('PUT', '/fx_settings', { fx_settings: { invoicing_enabled: true } })).status).toBe(200);
  const inv = await periodInvoice('EUR', 'Globex Corporation');
  await createActivities({ db: h.database.db }).finalizeInvoice({ organizationId: h.org.id, invoiceId: inv.invoiceId });
  finalizedId = inv.invoiceId;
  draftId = (await periodInvoice('USD', 'Initech')).invoiceId;
});
afterAll(async () => {
  await h.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

describe('an invoice in another currency than its plan, over HTTP', () => {
  it('GET /invoices/:id shows the converted amounts with the rate, its source and date (Meterline fields)', async () => {
    const res = await h.request('GET', `/invoices/${finalizedId}`);
    expect(res.status).toBe(200);
    expect(res.body.invoice).toMatchObject({
      currency: 'EUR',
      status: 'finalized',
      total_amount_cents: 1894 + 23378,
      price_currency: 'USD',
      fx_rate: '0.94679038061',
      fx_rate_source: 'ecb',
      fx_rate_date: '2026-11-27',
      fx_status: 'converted',
      fx_error: null,
    });
    expect(res.body.invoice.fees.map((f: any) => [f.amount_currency, f.amount_cents])).toEqual([['EUR', 1894], ['EUR', 23378]]);
    expect(res.body.invoice).not.toHaveProperty('file_url'); // no document yet
  });

  it('an invoice in its plan currency has null FX fields', async () => {
    const res = await h.request('GET', `/invoices/${draftId}`);
    expect(res.body.invoice).toMatchObject({ currency: 'USD', price_currency: null, fx_rate: null, fx_status: null });
  });
});

describe('POST /invoices/:id/download and the file', () => {
  it('answers the invoice with a file_url that serves the PDF, whose text has the parties, lines, FX note and totals', async () => {
    const res = await h.request('POST', `/invoices/${finalizedId}/download`);
    expect(res.status).toBe(200);
    const url: string = res.body.invoice.file_url;
    expect(url).toBe(`${h.api.url}/api/v1/invoices/${finalizedId}/file`);
    expect((await h.request('GET', `/invoices/${finalizedId}`)).body.invoice.file_url).toBe(url);

    const file = await fetch(url, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    if (process.env.METERLINE_KEEP_PDF) fs.writeFileSync(process.env.METERLINE_KEEP_PDF, bytes); // to look at it
    const text = pdfText(bytes);
    const number: string = res.body.invoice.number;
    for (const expected of [
      'Invoice',
      number,
      'Acme', // seller (the organization)
      'Globex Corporation',
      'billing@globex.example',
      '2026-11-01 to 2026-11-30',
      '123456789',
      '0.000001893580761', // the converted unit price (stored at the fees table's 15 decimals)
      '233.78',
      '18.94',
      'Tax (0%)',
      'Total due',
      '252.72 EUR',
      'Prices are set in USD and invoiced in EUR at 1 USD = 0.94679038061 EUR',
      'ECB euro foreign exchange reference rate of',
      '2026-11-27',
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('the same invoice renders to identical bytes, and the stored file is those bytes', async () => {
    const a = await renderStoredInvoice(h.database.db, h.org.id, finalizedId);
    const b = await renderStoredInvoice(h.database.db, h.org.id, finalizedId);
    expect(a.pdf.equals(b.pdf)).toBe(true);
    const served = Buffer.from(await (await fetch(`${h.api.url}/api/v1/invoices/${finalizedId}/file`, { headers: { authorization: `Bearer ${h.apiKey}` } })).arrayBuffer());
    expect(served.equals(a.pdf)).toBe(true);
    // Downloading again keeps the one stored document.
    await h.request('POST', `/invoices/${finalizedId}/download`);
    expect(await h.database.db('invoice_documents').where({ invoice_id: finalizedId }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('a draft has no PDF: 405 is_draft, nothing stored', async () => {
    const res = await h.request('POST', `/invoices/${draftId}/download`);
    expect(res.status).toBe(405);
    expect(res.body).toMatchObject({ status: 405, code: 'is_draft' });
    expect(await h.database.db('invoice_documents').where({ invoice_id: draftId }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('unknown ids are 404; the file needs the API key; another organization cannot read it', async () => {
    expect((await h.request('POST', '/invoices/00000000-0000-0000-0000-000000000000/download')).status).toBe(404);
    expect((await h.request('POST', '/invoices/not-a-uuid/download')).status).toBe(404);
    expect((await fetch(`${h.api.url}/api/v1/invoices/${finalizedId}/file`)).status).toBe(401);
    const other = await ensureOrganization(h.database.db, `other-${Date.now()}`, 'Other');
    const otherKey = await createApiKey(h.database.db, other.id);
    const res = await fetch(`${h.api.url}/api/v1/invoices/${finalizedId}/file`, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(res.status).toBe(404);
  });
});

describe('FX operator API', () => {
  it('manual rates: bad input is a 422 naming each field', async () => {
    const res = await h.request('POST', '/fx_rates', { fx_rate: { base_currency: 'USD', quote_currency: 'XYZ', date: '2026-02-30', rate: '1e3' } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ quote_currency: ['unsupported_currency'], date: ['invalid_date'], rate: ['invalid_fx_rate'] });
  });

  it('resolve says why there is no rate (404 fx_rate_missing), and a manual rate fills the gap', async () => {
    const missing = await h.request('GET', '/fx_rates/resolve?base_currency=USD&quote_currency=KWD&date=2026-11-30');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'fx_rate_missing', error_details: { rate: ['fx_rate_missing'] } });
    const created = await h.request('POST', '/fx_rates', { fx_rate: { base_currency: 'USD', quote_currency: 'KWD', date: '2026-11-30', rate: '0.3071' } });
    expect(created.status).toBe(200);
    const ok = await h.request('GET', '/fx_rates/resolve?base_currency=USD&quote_currency=KWD&date=2026-11-30');
    expect(ok.body.fx_rate).toEqual({ base_currency: 'USD', quote_currency: 'KWD', date: '2026-11-30', rate: '0.3071', source: 'manual' });
    const ecb = await h.request('GET', '/fx_rates/resolve?base_currency=GBP&quote_currency=JPY&date=2026-11-29');
    expect(ecb.body.fx_rate).toMatchObject({ source: 'ecb', date: '2026-11-27' });
  });
});

const SPEC = path.resolve(__dirname, '../../../shared/reference/lago-openapi-1.51.0.yaml');
(fs.existsSync(SPEC) ? describe : describe.skip)('Lago contract (openapi 1.51.0)', () => {
  it("POST /invoices/:id/download's answer validates against Lago's downloadInvoice 200 schema (Invoice), FX fields and all", async () => {
    // The request first: compiling the spec blocks the event loop for seconds, long enough for the server to
    // drop an idle keep-alive socket the next request would reuse.
    const res = await h.request('POST', `/invoices/${finalizedId}/download`);
    expect(res.status).toBe(200);
    const doc = YAML.parse(fs.readFileSync(SPEC, 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: 'https://lago.test/openapi.json' });
    const ref: string = doc.paths['/invoices/{lago_id}/download'].post.responses['200'].content['application/json'].schema.$ref;
    const validate = ajv.getSchema(`https://lago.test/openapi.json${ref}`)!;
    const ok = validate(res.body);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The validator is live: without its file_url format the body fails.
    expect(validate({ invoice: { ...res.body.invoice, file_url: 'not a url' } })).toBe(false);
  });
});


// Last in the file: the reverse-charge case turns the organization's automatic tax rules on.
describe('the tax breakdown on the PDF, from the taxes stored on the invoice', () => {
  it('a customer tax of 20 %: one row with its name, rate, base and amount, and the taxed total', async () => {
    const db = h.database.db;
    const vat = await createTax(db, h.org.id, { code: 'pdf_vat20', name: 'TVA FR', rate: '20', description: null, appliedToOrganization: false });
    const inv = await periodInvoice('EUR', 'Taxed Corp', (customerId) => setTaxes(db, h.org.id, 'customer', customerId, [vat.id]));
    await createActivities({ db }).finalizeInvoice({ organizationId: h.org.id, invoiceId: inv.invoiceId });
    const json = (await h.request('GET', `/invoices/${inv.invoiceId}`)).body.invoice;
    // 1894 + 23378 = 25272 cents of fees; 20 % = 5054.4 → 5054; total 30326.
    expect(json).toMatchObject({ status: 'finalized', fees_amount_cents: 25272, taxes_amount_cents: 5054, total_amount_cents: 30326 });

    const res = await h.request('POST', `/invoices/${inv.invoiceId}/download`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await (await fetch(res.body.invoice.file_url, { headers: { authorization: `Bearer ${h.apiKey}` } })).arrayBuffer());
    if (process.env.METERLINE_KEEP_TAX_PDF) fs.writeFileSync(process.env.METERLINE_KEEP_TAX_PDF, bytes); // to look at it
    const text = pdfText(bytes);
    expect(text).toMatch(/TVA FR \(20%\) on 252\.72 EUR\s+50\.54 EUR/);
    expect(text).toMatch(/Total taxes\s+50\.54 EUR/);
    expect(text).toMatch(/Total due\s+303\.26 EUR/);
    expect(text).not.toContain('Tax (0%)');
    expect(text).not.toContain('Reverse charge');
  });

  it('an EU B2B customer across borders with a VIES-valid VAT number: a 0 % reverse-charge row and the legal mention', async () => {
    const db = h.database.db;
    await putTaxSettings(db, h.org.id, { automaticTaxesEnabled: true, sellerCountry: 'FR', usStateRates: {}, countryRates: {} });
    const inv = await periodInvoice('EUR', 'Bundes GmbH', async (customerId) => {
      await db('customers').where({ id: customerId }).update({ country: 'DE', customer_type: 'company', tax_identification_number: 'DE136695976' });
      await recordVatNumberCheck(db, h.org.id, customerId, 'DE136695976', 'valid', { reason: 'VIES VALID' }, new Date('2026-11-30T00:00:00Z'));
    });
    await createActivities({ db }).finalizeInvoice({ organizationId: h.org.id, invoiceId: inv.invoiceId });
    const json = (await h.request('GET', `/invoices/${inv.invoiceId}`)).body.invoice;
    expect(json).toMatchObject({ taxes_amount_cents: 0, total_amount_cents: 25272 });

    const text = pdfText((await renderStoredInvoice(db, h.org.id, inv.invoiceId)).pdf);
    expect(text).toMatch(/\(0%\) on 252\.72 EUR\s+0\.00 EUR/);
    expect(text).toMatch(/Total due\s+252\.72 EUR/);
    // pdftotext -layout may break the mention over lines: compare with whitespace collapsed.
    expect(text.replace(/\s+/g, ' ')).toContain(EU_REVERSE_CHARGE_MENTION);
    expect(text).not.toContain('Tax (0%)');
  });
});
