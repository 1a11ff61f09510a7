import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { parseEcbXml } from '../../adapters/fx/ecb-parser';
import { FakeFxFeed } from '../../adapters/fx/fake';
import { resolveStoredRate, upsertManualRate, upsertPublishedRates } from '../../db/repositories/fx-rates';
import { getInvoicesFx, setFxInvoicingEnabled } from '../../db/repositories/invoice-fx';
import { getInvoice } from '../../db/repositories/invoices';
import { createBillingSetup, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const NINETY_DAYS = parseEcbXml(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'ecb', 'eurofxref-hist-90d.xml'), 'utf8'));

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_fx');
});
afterAll(async () => {
  await t.drop();
});

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}

describe('refreshFxRates (the Schedule activity)', () => {
  it('stores the 90-day file once: a second refresh changes nothing, a corrected figure updates one row', async () => {
    const feed = new FakeFxFeed(NINETY_DAYS);
    const { refreshFxRates } = createActivities({ db: t.db, fxFeed: feed });
    expect(await refreshFxRates()).toEqual({ fetched: 62 * 29, changed: 62 * 29, latestDate: '2026-11-27' });
    expect(await refreshFxRates()).toEqual({ fetched: 62 * 29, changed: 0, latestDate: '2026-11-27' });
    feed.setRates(NINETY_DAYS.map((r) => (r.currency === 'USD' && r.date === '2026-11-27' ? { ...r, rate: '1.0563' } : r)));
    expect(await refreshFxRates()).toMatchObject({ changed: 1 });
    const row = await t.db('fx_rates').where({ currency: 'USD', rate_date: '2026-11-27' }).first(t.db.raw('rate::text as rate'));
    expect(row.rate).toBe('1.0563');
    const count = await t.db('fx_rates').count<{ n: string }[]>({ n: '*' });
    expect(Number(count[0]!.n)).toBe(62 * 29);
    // Back to the published figure for the tests below.
    feed.setRates(NINETY_DAYS);
    await refreshFxRates();
  });

  it('an ECB outage is a retryable failure; a rejection is not', async () => {
    const feed = new FakeFxFeed(NINETY_DAYS);
    const { refreshFxRates } = createActivities({ db: t.db, fxFeed: feed });
    feed.failNext('unavailable');
    expect(await failure(refreshFxRates())).toMatchObject({ type: 'fx_feed_unavailable', nonRetryable: false });
    feed.failNext('rejected');
    expect(await failure(refreshFxRates())).toMatchObject({ type: 'fx_feed_rejected', nonRetryable: true });
  });
});

/** $20.00 a month + 0.000002 USD per token; 123,456,789 tokens in November. */
async function setup(customerCurrency: string, fx: boolean) {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    customer: { currency: customerCurrency },
    metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
    charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.000002' } }],
  });
  await setFxInvoicingEnabled(t.db, s.org.id, fx);
  await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-15T12:00:00.000Z', properties: { tokens: 123456789 } }]);
  const activities = createActivities({ db: t.db, fxFeed: new FakeFxFeed([]) });
  return { ...s, activities, input: { organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription' as const, period: NOV, fullPeriod: NOV } };
}

describe('invoicing in another currency than the plan', () => {
  it('USD plan, EUR customer: each line converted at the ECB rate of the last publication on or before Nov 30, rounded once', async () => {
    const s = await setup('EUR', true);
    const res = await s.activities.createPeriodInvoice(s.input);
    // 20 × 0.94679038061 = 18.9358… → 1894; 246.913578 × 0.94679038061 = 233.7754… → 23378
    // (converting the rounded 246.91 USD would give 23377: the line is rounded once, from the precise amount).
    expect(res).toMatchObject({ currency: 'EUR', totalAmountCents: 1894 + 23378 });
    const inv = (await getInvoice(t.db, s.org.id, res.invoiceId))!;
    expect(inv.currency).toBe('EUR');
    expect(inv.fees.map((f) => [f.feeType, f.currency, f.amountCents])).toEqual([
      ['subscription', 'EUR', 1894],
      ['charge', 'EUR', 23378],
    ]);
    expect(inv.totalAmountCents).toBe(inv.fees.reduce((a, f) => a + f.amountCents, 0));
    const fx = (await getInvoicesFx(t.db, s.org.id, [res.invoiceId])).get(res.invoiceId);
    expect(fx).toEqual({ status: 'converted', priceCurrency: 'USD', rate: '0.94679038061', source: 'ecb', rateDate: '2026-11-27', error: null });

    const fin = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: res.invoiceId });
    expect(fin).toMatchObject({ status: 'finalized', currency: 'EUR', totalAmountCents: 25272 });
  });

  it('without the organization setting a customer currency ≠ the plan currency is refused (currency_mismatch, not retried)', async () => {
    const s = await setup('EUR', false);
    expect(await failure(s.activities.createPeriodInvoice(s.input))).toMatchObject({ type: 'currency_mismatch', nonRetryable: true });
  });

  it('a currency the ECB does not quote uses the manual rate (source manual), KWD at 3 decimals', async () => {
    const s = await setup('KWD', true);
    await upsertManualRate(t.db, s.org.id, { baseCurrency: 'USD', quoteCurrency: 'KWD', date: '2026-11-20', rate: '0.3071' });
    const res = await s.activities.createPeriodInvoice(s.input);
    // 6.142 KWD and 75.8271598… → 75.827 KWD.
    expect(res).toMatchObject({ currency: 'KWD', totalAmountCents: 6142 + 75827 });
    expect((await getInvoicesFx(t.db, s.org.id, [res.invoiceId])).get(res.invoiceId)).toMatchObject({ source: 'manual', rate: '0.3071', rateDate: '2026-11-20' });
  });

  it('no usable rate: the draft waits visibly (waiting_for_rate + the reason), the activity fails RETRYABLY, and passes once a rate exists', async () => {
    const s = await setup('KWD', true);
    const f = await failure(s.activities.createPeriodInvoice(s.input));
    expect(f).toMatchObject({ type: 'fx_rate_missing', nonRetryable: false });
    const [row] = await t.db('invoices').where({ subscription_id: s.sub.id }).select('id', 'status', 'total_amount_cents', 'fx_status', 'fx_error');
    expect(row).toMatchObject({ status: 'draft', fx_status: 'waiting_for_rate' });
    expect(row.fx_error).toMatch(/No ECB rate for USD\/KWD on or before 2026-11-30/);
    expect(await t.db('fees').where({ invoice_id: row.id }).count<{ n: string }[]>({ n: '*' })).toEqual([{ n: 0 }]);
    // Finalizing a waiting draft is refused the same retryable way: nothing is numbered without a rate.
    expect(await failure(s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: row.id }))).toMatchObject({ type: 'fx_rate_missing' });
    expect(await t.db('invoices').where({ id: row.id }).first('status', 'number')).toEqual({ status: 'draft', number: null });

    await upsertManualRate(t.db, s.org.id, { baseCurrency: 'USD', quoteCurrency: 'KWD', date: '2026-11-30', rate: '0.3071' });
    const res = await s.activities.createPeriodInvoice(s.input);
    expect(res).toMatchObject({ invoiceId: row.id, created: false, totalAmountCents: 81969 });
    expect((await getInvoicesFx(t.db, s.org.id, [row.id])).get(row.id)).toMatchObject({ status: 'converted', error: null });
  });

  it('a stale rate is no rate: ECB figures more than 7 days before D are not used', async () => {
    const s = await setup('EUR', true);
    expect(await resolveStoredRate(t.db, s.org.id, 'USD', 'EUR', '2026-12-04')).toMatchObject({ ok: true, rate: { date: '2026-11-27' } });
    expect(await resolveStoredRate(t.db, s.org.id, 'USD', 'EUR', '2026-12-05')).toMatchObject({ ok: false, code: 'fx_rate_stale' });
  });

  it('upsertPublishedRates refuses a non-positive rate (database check), writing nothing of the chunk', async () => {
    await expect(upsertPublishedRates(t.db, 'ecb', [{ currency: 'ZZZ', date: '2026-11-27', rate: '1' }, { currency: 'ZZY', date: '2026-11-27', rate: '0' }])).rejects.toThrow(/fx_rates_rate_positive/);
    expect(await t.db('fx_rates').whereIn('currency', ['ZZZ', 'ZZY']).count<{ n: string }[]>({ n: '*' })).toEqual([{ n: 0 }]);
  });
});
