// entity13 (issue 13) through the real HTTP API and Postgres: billing entities issue their customers' invoices.
// Two entities (the default one and `acme_eu`), a customer on each (POST /customers with billing_entity_code), both
// invoiced for November: each invoice carries its entity's code and number (prefix and sequence), its PDF names its
// entity as issuer (pdftotext), the entity's net payment term sets the due date; customers' entity rules as Lago
// 1.51 (unknown or another organization's code → 404 billing_entity_not_found, no change once billed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { renderStoredInvoice } from '../../documents/invoice-document';
import { createMetric, createPlan, createSubscription, insertEvents } from '../support/fixtures';
import { startApiHarness, type ApiHarness } from './harness';
import { pdfText as pdfTextOf } from '../support/pdf-text';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-ent13-'));

let h: ApiHarness;
let otherKey: string;

function pdfText(bytes: Buffer): string {
  return pdfTextOf(bytes, DATA_DIR);
}

const EU = {
  code: 'acme_eu',
  name: 'Acme Europe',
  legal_name: 'Acme Europe SAS',
  document_number_prefix: 'aeu',
  address_line1: '1 rue de la Paix',
  zipcode: '75002',
  city: 'Paris',
  country: 'FR',
  email: 'billing@acme.eu',
  tax_identification_number: 'FR12345678901',
  net_payment_term: 30,
  timezone: 'Europe/Paris',
  billing_configuration: { invoice_footer: 'Acme Europe SAS, capital 10 000 EUR' },
};

async function invoiceCustomer(externalId: string): Promise<string> {
  const db = h.database.db;
  const customer = await db('customers').where({ organization_id: h.org.id, external_id: externalId }).first('id');
  const metric = await createMetric(db, h.org.id, { code: `tokens_${externalId}`, aggregationType: 'sum_agg', fieldName: 'tokens' });
  const plan = await createPlan(db, h.org.id, { amountCents: 2000, payInAdvance: false, charges: [{ metricId: metric.id, properties: { amount: '0.01' } }] });
  const sub = await createSubscription(db, h.org.id, customer.id, plan.id, { subscriptionAt: NOV.start });
  await insertEvents(db, { organizationId: h.org.id, subscriptionId: sub.id, externalSubscriptionId: sub.externalId }, [
    { code: metric.code, timestamp: '2026-11-15T12:00:00.000Z', properties: { tokens: 100 } },
  ]);
  const activities = createActivities({ db });
  const inv = await activities.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  await activities.finalizeInvoice({ organizationId: h.org.id, invoiceId: inv.invoiceId });
  return inv.invoiceId;
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  h = await startApiHarness({ prefix: 'api_ent13' });
  const other = await ensureOrganization(h.database.db, `other-${h.org.slug}`, 'Other');
  otherKey = await createApiKey(h.database.db, other.id);
  expect((await h.request('POST', '/billing_entities', { billing_entity: { code: 'other_only', name: 'Other Entity' } }, { authorization: `Bearer ${otherKey}` })).status).toBe(200);
});
afterAll(async () => {
  await h?.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

describe('a second billing entity', () => {
  it("stores Lago's upper-cased prefix, generates Lago's prefix when none is given, and refuses another entity's prefix", async () => {
    const created = await h.request('POST', '/billing_entities', { billing_entity: EU });
    expect(created.status).toBe(200);
    expect(created.body.billing_entity).toMatchObject({ code: 'acme_eu', document_number_prefix: 'AEU', net_payment_term: 30, invoice_footer: EU.billing_configuration.invoice_footer });
    const generated = await h.request('POST', '/billing_entities', { billing_entity: { code: 'acme_asia', name: 'Asia Pacific' } });
    expect(generated.body.billing_entity.document_number_prefix).toMatch(/^ASI-[0-9A-F]{4}$/);
    const orgPrefix = (await h.request('GET', `/billing_entities/${h.org.slug}`)).body.billing_entity.document_number_prefix;
    expect(await h.request('POST', '/billing_entities', { billing_entity: { code: 'dup', name: 'Dup', document_number_prefix: orgPrefix.toLowerCase() } })).toMatchObject({ status: 422, body: { error_details: { document_number_prefix: ['value_already_exist'] } } });
    expect(await h.request('PUT', '/billing_entities/acme_asia', { billing_entity: { document_number_prefix: 'AEU' } })).toMatchObject({ status: 422, body: { error_details: { document_number_prefix: ['value_already_exist'] } } });
  });
});

describe("customers' billing_entity_code", () => {
  it('defaults to the default entity, takes a given entity, and answers it on POST and GET', async () => {
    const home = await h.request('POST', '/customers', { customer: { external_id: 'c_home', name: 'Home Customer' } });
    expect(home.status).toBe(200);
    expect(home.body.customer).toMatchObject({ billing_entity_code: h.org.slug });
    const eu = await h.request('POST', '/customers', { customer: { external_id: 'c_eu', name: 'Euro Customer', billing_entity_code: 'acme_eu' } });
    expect(eu.body.customer).toMatchObject({ billing_entity_code: 'acme_eu', timezone: null, applicable_timezone: 'Europe/Paris' });
    expect((await h.request('GET', '/customers/c_eu')).body.customer).toMatchObject({ billing_entity_code: 'acme_eu', applicable_timezone: 'Europe/Paris' });
    // An update without billing_entity_code keeps it.
    expect((await h.request('POST', '/customers', { customer: { external_id: 'c_eu', email: 'ap@euro.example' } })).body.customer.billing_entity_code).toBe('acme_eu');
  });

  it("an unknown code, or another organization's, is 404 billing_entity_not_found and writes nothing", async () => {
    for (const code of ['nope', 'other_only']) {
      expect(await h.request('POST', '/customers', { customer: { external_id: `c_${code}`, billing_entity_code: code } })).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
      expect((await h.request('GET', `/customers/c_${code}`)).status).toBe(404);
    }
    // And the other organization cannot use ours.
    expect(await h.request('POST', '/customers', { customer: { external_id: 'theirs', billing_entity_code: 'acme_eu' } }, { authorization: `Bearer ${otherKey}` })).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  });

  it('moves to another entity while nothing is billed; once it has a subscription the code is ignored (Lago 1.51, Customer#editable?)', async () => {
    await h.request('POST', '/customers', { customer: { external_id: 'c_move' } });
    expect((await h.request('POST', '/customers', { customer: { external_id: 'c_move', billing_entity_code: 'acme_asia' } })).body.customer.billing_entity_code).toBe('acme_asia');
    const db = h.database.db;
    const c = await db('customers').where({ organization_id: h.org.id, external_id: 'c_move' }).first('id');
    const plan = await createPlan(db, h.org.id, { amountCents: 100, payInAdvance: false, charges: [] });
    await createSubscription(db, h.org.id, c.id, plan.id);
    const res = await h.request('POST', '/customers', { customer: { external_id: 'c_move', billing_entity_code: 'acme_eu', name: 'Moved?' } });
    expect(res.status).toBe(200);
    expect(res.body.customer).toMatchObject({ billing_entity_code: 'acme_asia', name: 'Moved?' });
  });
});

describe('invoices of two entities in one period', () => {
  let homeId: string;
  let euId: string;
  beforeAll(async () => {
    homeId = await invoiceCustomer('c_home');
    euId = await invoiceCustomer('c_eu');
  });

  it("each invoice carries its entity's code and number from its entity's prefix and sequence; the entity's payment term sets the due date", async () => {
    const home = (await h.request('GET', `/invoices/${homeId}`)).body.invoice;
    const eu = (await h.request('GET', `/invoices/${euId}`)).body.invoice;
    const orgPrefix = (await h.request('GET', `/billing_entities/${h.org.slug}`)).body.billing_entity.document_number_prefix;
    const month = (d: string) => d.slice(0, 4) + d.slice(5, 7);
    expect(home).toMatchObject({ billing_entity_code: h.org.slug, number: `${orgPrefix}-${month(home.issuing_date)}-000001` });
    expect(eu).toMatchObject({ billing_entity_code: 'acme_eu', number: `AEU-${month(eu.issuing_date)}-000001` });
    expect(eu.customer).toMatchObject({ billing_entity_code: 'acme_eu', applicable_timezone: 'Europe/Paris' });
    const due = new Date(`${eu.issuing_date}T00:00:00Z`);
    due.setUTCDate(due.getUTCDate() + 30);
    expect(eu.payment_due_date).toBe(due.toISOString().slice(0, 10));
    expect(home.payment_due_date).toBe(home.issuing_date); // the organization's net payment term: 0
  });

  it('GET /invoices filters by billing_entity_codes[]; an unknown or foreign code is 404 billing_entity_not_found', async () => {
    const eu = await h.request('GET', '/invoices?billing_entity_codes[]=acme_eu');
    expect(eu.status).toBe(200);
    expect(eu.body.invoices.map((i: any) => i.lago_id)).toEqual([euId]);
    const both = await h.request('GET', `/invoices?billing_entity_codes[]=acme_eu&billing_entity_codes[]=${h.org.slug}`);
    expect(new Set(both.body.invoices.map((i: any) => i.lago_id))).toEqual(new Set([euId, homeId]));
    for (const code of ['nope', 'other_only']) {
      expect(await h.request('GET', `/invoices?billing_entity_codes[]=${code}`)).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
    }
  });

  it("the PDF's issuer block is the invoice's entity: its legal name, address, e-mail, tax id and footer", async () => {
    const eu = pdfText((await renderStoredInvoice(h.database.db, h.org.id, euId)).pdf);
    for (const expected of ['Acme Europe SAS', '1 rue de la Paix', '75002 Paris', 'billing@acme.eu', 'Tax id: FR12345678901', 'Acme Europe SAS, capital 10 000 EUR', 'Euro Customer']) {
      expect(eu).toContain(expected);
    }
    expect(eu).not.toContain(`Organization ${h.org.slug}`);
    const home = pdfText((await renderStoredInvoice(h.database.db, h.org.id, homeId)).pdf);
    expect(home).toContain(`Organization ${h.org.slug}`);
    expect(home).not.toContain('Acme Europe SAS');
  });

  it("a customer with invoices stays on its entity, and the invoice keeps the entity that issued it", async () => {
    await h.request('POST', '/customers', { customer: { external_id: 'c_eu', billing_entity_code: h.org.slug } });
    expect((await h.request('GET', '/customers/c_eu')).body.customer.billing_entity_code).toBe('acme_eu');
    expect((await h.request('GET', `/invoices/${euId}`)).body.invoice.billing_entity_code).toBe('acme_eu');
  });
});

describe('one-off invoices and credit notes follow the entity', () => {
  it("a one-off invoice continues its customer's entity sequence; its credit note answers the entity, carries its number and issuer", async () => {
    expect((await h.request('POST', '/add_ons', { add_on: { name: 'Support pack', code: 'support_pack', amount_cents: 10_000, amount_currency: 'USD' } })).status).toBe(200);
    const inv = await h.request('POST', '/invoices', { invoice: { external_customer_id: 'c_eu', currency: 'USD', fees: [{ add_on_code: 'support_pack', units: '1' }] } });
    expect(inv.status).toBe(200);
    const month = inv.body.invoice.issuing_date.slice(0, 4) + inv.body.invoice.issuing_date.slice(5, 7);
    expect(inv.body.invoice).toMatchObject({ billing_entity_code: 'acme_eu', number: `AEU-${month}-000002` });
    const note = await h.request('POST', '/credit_notes', { credit_note: {
      invoice_id: inv.body.invoice.lago_id, reason: 'other', credit_amount_cents: 1000, items: [{ fee_id: inv.body.invoice.fees[0].lago_id, amount_cents: 1000 }],
    } });
    expect(note.status).toBe(200);
    expect(note.body.credit_note).toMatchObject({ billing_entity_code: 'acme_eu', number: `${inv.body.invoice.number}-CN1` });
    const pdf = await fetch(`${h.api.url}/api/v1/credit_notes/${note.body.credit_note.lago_id}/download`, { method: 'POST', headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(pdf.status).toBe(200);
    const url = ((await pdf.json()) as { credit_note: { file_url: string } }).credit_note.file_url;
    const text = pdfText(Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${h.apiKey}` } })).arrayBuffer()));
    expect(text).toContain('Acme Europe SAS');
    expect(text).toContain('Tax id: FR12345678901');

    const byEntity = await h.request('GET', '/credit_notes?billing_entity_codes[]=acme_eu');
    expect(byEntity.body.credit_notes.map((n: any) => n.lago_id)).toEqual([note.body.credit_note.lago_id]);
    expect((await h.request('GET', `/credit_notes?billing_entity_codes[]=${h.org.slug}`)).body.credit_notes).toEqual([]);
    expect(await h.request('GET', '/credit_notes?billing_entity_codes[]=other_only')).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  });

  it('GET /customers filters by billing_entity_codes[]', async () => {
    const eu = await h.request('GET', '/customers?billing_entity_codes[]=acme_eu');
    expect(eu.status).toBe(200);
    expect(eu.body.customers.map((c: any) => c.external_id)).toEqual(['c_eu']);
    expect(eu.body.customers[0].applicable_timezone).toBe('Europe/Paris');
    expect(await h.request('GET', '/customers?billing_entity_codes[]=nope')).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  });
});

describe('wallets', () => {
  it("answer their customer's billing_entity_code and are filtered by billing_entity_codes[] (GET /wallets and the customer's wallets)", async () => {
    const w = await h.request('POST', '/wallets', { wallet: { external_customer_id: 'c_eu', name: 'Prepaid', rate_amount: '1', currency: 'USD', granted_credits: '10' } });
    expect(w.status).toBe(200);
    expect(w.body.wallet.billing_entity_code).toBe('acme_eu');
    expect((await h.request('GET', '/wallets?billing_entity_codes[]=acme_eu')).body.wallets.map((x: any) => x.lago_id)).toEqual([w.body.wallet.lago_id]);
    expect((await h.request('GET', `/wallets?billing_entity_codes[]=${h.org.slug}`)).body.wallets).toEqual([]);
    expect((await h.request('GET', `/customers/c_eu/wallets?billing_entity_codes[]=${h.org.slug}`)).body.wallets).toEqual([]);
    expect(await h.request('GET', '/wallets?billing_entity_codes[]=other_only')).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  });
});

describe('subscriptions', () => {
  it("answer their customer's billing_entity_code and are filtered by billing_entity_codes[] (GET /subscriptions and the customer's subscriptions)", async () => {
    const eu = await h.request('GET', '/subscriptions?billing_entity_codes[]=acme_eu');
    expect(eu.status).toBe(200);
    expect(eu.body.subscriptions.map((s: any) => [s.external_customer_id, s.billing_entity_code])).toEqual([['c_eu', 'acme_eu']]);
    expect((await h.request('GET', `/customers/c_eu/subscriptions?billing_entity_codes[]=${h.org.slug}`)).body.subscriptions).toEqual([]);
    expect((await h.request('GET', '/customers/c_eu/subscriptions?billing_entity_codes[]=acme_eu')).body.subscriptions).toHaveLength(1);
    expect(await h.request('GET', '/subscriptions?billing_entity_codes[]=other_only')).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  });
});
