// net_payment_term over HTTP: set on a customer (POST /customers) or defaulted by the organization, and the
// finalized invoice's payment_due_date = its issuing date + the customer's term, else the organization's.
import { createActivities } from '../../activities';
import { createMetric, createPlan, createSubscription, insertEvents } from '../support/fixtures';
import { startApiHarness, type ApiHarness } from './harness';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_npt' });
});
afterAll(async () => {
  await h.stop();
});

/** A finalized November invoice for the customer (created over HTTP) with the given body fields. */
async function finalizedInvoiceFor(externalId: string) {
  const db = h.database.db;
  const customer = await db('customers').where({ organization_id: h.org.id, external_id: externalId }).first('id');
  const metric = await createMetric(db, h.org.id, { code: `m_${externalId}`, aggregationType: 'sum_agg', fieldName: 'n' });
  const plan = await createPlan(db, h.org.id, { amountCents: 1000, payInAdvance: false, charges: [{ metricId: metric.id, properties: { amount: '1' } }] });
  const sub = await createSubscription(db, h.org.id, customer.id, plan.id);
  await insertEvents(db, { organizationId: h.org.id, subscriptionId: sub.id, externalSubscriptionId: sub.externalId }, [
    { code: metric.code, timestamp: '2026-11-15T12:00:00.000Z', properties: { n: 3 } },
  ]);
  const activities = createActivities({ db });
  const before = utcDate();
  const inv = await activities.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  await activities.finalizeInvoice({ organizationId: h.org.id, invoiceId: inv.invoiceId });
  const after = utcDate();
  const res = await h.request('GET', `/invoices/${inv.invoiceId}`);
  expect(res.status).toBe(200);
  // Finalizing issues the invoice today (Lago's FinalizeService), in the customer's time zone: UTC here.
  expect([before, after]).toContain(res.body.invoice.issuing_date);
  return res.body.invoice;
}

function utcDate(): string {
  return new Date().toISOString().slice(0, 10);
}

function plusDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

describe('net_payment_term', () => {
  it('POST /customers stores net_payment_term 15 and answers it; a later upsert without it keeps it; null resets it', async () => {
    const res = await h.request('POST', '/customers', { customer: { external_id: 'npt-15', net_payment_term: 15 } });
    expect(res.status).toBe(200);
    expect(res.body.customer.net_payment_term).toBe(15);
    expect((await h.request('POST', '/customers', { customer: { external_id: 'npt-15', name: 'Kept' } })).body.customer.net_payment_term).toBe(15);
    expect((await h.request('GET', '/customers/npt-15')).body.customer.net_payment_term).toBe(15);
    const reset = await h.request('POST', '/customers', { customer: { external_id: 'npt-null', net_payment_term: 7 } });
    expect(reset.body.customer.net_payment_term).toBe(7);
    expect((await h.request('POST', '/customers', { customer: { external_id: 'npt-null', net_payment_term: null } })).body.customer.net_payment_term).toBeNull();
  });

  it('a negative or fractional net_payment_term is 422 naming the field, and nothing is written', async () => {
    for (const bad of [-1, 1.5, '15']) {
      const res = await h.request('POST', '/customers', { customer: { external_id: 'npt-bad', net_payment_term: bad } });
      expect(res.status).toBe(422);
      expect(Object.keys(res.body.error_details)).toContain('net_payment_term');
    }
    expect((await h.request('GET', '/customers/npt-bad')).status).toBe(404);
  });

  it('a customer with a term of 15 days: its finalized invoice is due on the issuing date + 15', async () => {
    const inv = await finalizedInvoiceFor('npt-15');
    expect(inv.status).toBe('finalized');
    expect(inv.net_payment_term).toBe(15);
    expect(inv.payment_due_date).toBe(plusDays(inv.issuing_date, 15));
  });

  it('the organization default of 30 applies to a customer without a term', async () => {
    const put = await h.request('PUT', '/organizations', { organization: { net_payment_term: 30 } });
    expect(put.status).toBe(200);
    expect(put.body.organization).toMatchObject({ lago_id: h.org.id, net_payment_term: 30 });
    expect((await h.request('GET', '/organizations')).body.organization.net_payment_term).toBe(30);
    expect((await h.request('PUT', '/organizations', { organization: { net_payment_term: -3 } })).status).toBe(422);
    await h.request('POST', '/customers', { customer: { external_id: 'npt-default' } });
    expect((await h.request('GET', '/customers/npt-default')).body.customer.net_payment_term).toBeNull();
    const inv = await finalizedInvoiceFor('npt-default');
    expect(inv.net_payment_term).toBe(30);
    expect(inv.payment_due_date).toBe(plusDays(inv.issuing_date, 30));
  });
});
