import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { getInvoice, listInvoices } from '../../db/repositories/invoices';
import { createBillingSetup, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_inv');
});
afterAll(async () => {
  await t.drop();
});

/** Plan: $20.00 in arrears + 0.000002 USD per token (sum_agg, SQL path) + GPU seconds with filters (event path). */
async function tokenSetup(opts: { customerGrace?: number | null; orgGrace?: number; slug?: string } = {}) {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    org: { invoiceGracePeriod: opts.orgGrace ?? 3, slug: opts.slug },
    customer: { invoiceGracePeriod: opts.customerGrace ?? null },
    metrics: [
      { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' },
      { code: 'gpu_seconds', aggregationType: 'sum_agg', fieldName: 'seconds', filters: [{ key: 'gpu', values: ['a100', 'h100'] }] },
    ],
    charges: ([tokens, gpu]) => [
      { metricId: tokens!.id, properties: { amount: '0.000002' } },
      {
        metricId: gpu!.id,
        properties: { amount: '0.01' },
        filters: [{ invoice_display_name: 'H100 seconds', properties: { amount: '0.03' }, values: { gpu: ['h100'] } }],
      },
    ],
  });
  const activities = createActivities({ db: t.db });
  const input = { organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription' as const, period: NOV, fullPeriod: NOV };
  return { ...s, activities, input };
}

async function invoiceCount(subscriptionId: string): Promise<number> {
  const r = await t.db('invoices').where({ subscription_id: subscriptionId }).count<{ n: number }[]>({ n: '*' });
  return Number(r[0]!.n);
}

describe('createPeriodInvoice', () => {
  it('bills 123,456,789 tokens at 0.000002 as 24691 cents plus the 2000-cent subscription fee, ignoring events outside the period', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-01T00:00:00.000Z', properties: { tokens: 100000000 } },
      { code: 'tokens', timestamp: '2026-11-15T12:00:00.000Z', properties: { tokens: '23456789' } },
      { code: 'tokens', timestamp: '2026-11-30T23:59:59.999Z', properties: {} }, // no value: counted, not summed
      // Outside [start, end): must not be billed.
      { code: 'tokens', timestamp: '2026-10-31T23:59:59.999Z', properties: { tokens: 999999999 } },
      { code: 'tokens', timestamp: '2026-12-01T00:00:00.000Z', properties: { tokens: 999999999 } },
      { code: 'gpu_seconds', timestamp: '2026-11-02T00:00:00.000Z', properties: { seconds: 100, gpu: 'a100' } },
      { code: 'gpu_seconds', timestamp: '2026-11-03T00:00:00.000Z', properties: { seconds: '10.5', gpu: 'h100' } },
      { code: 'gpu_seconds', timestamp: '2026-12-03T00:00:00.000Z', properties: { seconds: 1000, gpu: 'h100' } },
    ]);

    const res = await s.activities.createPeriodInvoice(s.input);

    // 2000 (fee) + 24691 (tokens: 246.913578) + 100 (100 s × 0.01) + 32 (10.5 s × 0.03 = 0.315 → 32, half-up)
    expect(res).toMatchObject({ status: 'draft', created: true, currency: 'USD', totalAmountCents: 2000 + 24691 + 100 + 32, gracePeriodDays: 3 });
    const inv = await getInvoice(t.db, s.org.id, res.invoiceId);
    expect(inv).not.toBeNull();
    expect(inv!.periodStart).toBe(NOV.start);
    expect(inv!.periodEnd).toBe(NOV.end);
    expect(inv!.feesAmountCents).toBe(26823);
    const byName = Object.fromEntries(inv!.fees.map((f) => [`${f.feeType}:${f.displayName}`, f]));
    const tokens = inv!.fees.find((f) => f.metricCode === 'tokens')!;
    expect(tokens).toMatchObject({ units: '123456789', eventsCount: 3, unitAmount: '0.000002', preciseAmount: '246.913578', amountCents: 24691 });
    expect(inv!.fees.find((f) => f.feeType === 'subscription')).toMatchObject({ amountCents: 2000, units: '1' });
    expect(byName['charge:H100 seconds']).toMatchObject({ units: '10.5', eventsCount: 1, amountCents: 32, filterIndex: 0, filterValues: { gpu: ['h100'] } });
    const rest = inv!.fees.find((f) => f.metricCode === 'gpu_seconds' && f.filterIndex === null)!;
    expect(rest).toMatchObject({ units: '100', eventsCount: 1, amountCents: 100 });
    expect(inv!.fees.reduce((a, f) => a + f.amountCents, 0)).toBe(inv!.totalAmountCents);
    expect(inv!.fees.map((f) => f.position)).toEqual(inv!.fees.map((_, i) => i + 1));
  });

  it('run twice returns the same invoice and leaves one invoice with one set of fees', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-05T00:00:00Z', properties: { tokens: 500000 } }]);
    const first = await s.activities.createPeriodInvoice(s.input);
    const second = await s.activities.createPeriodInvoice(s.input);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.invoiceId).toBe(first.invoiceId);
    expect(second.totalAmountCents).toBe(first.totalAmountCents);
    expect(await invoiceCount(s.sub.id)).toBe(1);
    const inv = await getInvoice(t.db, s.org.id, first.invoiceId);
    expect(inv!.fees).toHaveLength(4); // subscription, tokens, gpu (h100 filter), gpu (rest)
  });

  it('run concurrently twice (Promise.all) creates exactly one invoice and reports created once', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-05T00:00:00Z', properties: { tokens: 500000 } }]);
    const results = await Promise.all([s.activities.createPeriodInvoice(s.input), s.activities.createPeriodInvoice(s.input), s.activities.createPeriodInvoice(s.input)]);
    expect(new Set(results.map((r) => r.invoiceId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.map((r) => r.totalAmountCents)).toEqual([2100, 2100, 2100]);
    expect(await invoiceCount(s.sub.id)).toBe(1);
    expect(await t.db('fees').where({ invoice_id: results[0]!.invoiceId }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 4 }]);
  });

  it('refreshDraftInvoice re-rates a draft with an event that arrived late (within the period)', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-05T00:00:00Z', properties: { tokens: 1000000 } }]);
    const created = await s.activities.createPeriodInvoice(s.input);
    expect(created.totalAmountCents).toBe(2000 + 200);
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-29T10:00:00Z', properties: { tokens: 4000000 } }]);
    const refreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: created.invoiceId });
    expect(refreshed).toMatchObject({ invoiceId: created.invoiceId, status: 'draft', totalAmountCents: 2000 + 1000, created: false });
    // A re-run of the period close also sees it (same invoice, refreshed).
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-29T11:00:00Z', properties: { tokens: 5000000 } }]);
    const rerun = await s.activities.createPeriodInvoice(s.input);
    expect(rerun).toMatchObject({ invoiceId: created.invoiceId, totalAmountCents: 2000 + 2000, created: false });
    const inv = await getInvoice(t.db, s.org.id, created.invoiceId);
    expect(inv!.fees.find((f) => f.metricCode === 'tokens')).toMatchObject({ units: '10000000', eventsCount: 3 });
    expect(inv!.fees).toHaveLength(4);
  });

  it('uses the customer grace period override, else the organization setting', async () => {
    const withOverride = await tokenSetup({ orgGrace: 5, customerGrace: 0 });
    expect((await withOverride.activities.createPeriodInvoice(withOverride.input)).gracePeriodDays).toBe(0);
    const orgOnly = await tokenSetup({ orgGrace: 5 });
    expect((await orgOnly.activities.createPeriodInvoice(orgOnly.input)).gracePeriodDays).toBe(5);
  });

  it('a pay_in_advance plan: the November invoice bills November usage and the fee of December, the period that begins (issue 11)', async () => {
    const s = await createBillingSetup(t.db, {
      planAmountCents: 5000,
      payInAdvance: true,
      metrics: [{ code: 'calls', aggregationType: 'count_agg' }],
      charges: ([calls]) => [{ metricId: calls!.id, properties: { amount: '0.5' } }],
    });
    await insertEvents(t.db, s.ref, [1, 2, 3].map((d) => ({ code: 'calls', timestamp: `2026-11-0${d}T00:00:00Z` })));
    const res = await createActivities({ db: t.db }).createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
    expect(res.totalAmountCents).toBe(5000 + 150);
    const inv = await getInvoice(t.db, s.org.id, res.invoiceId);
    expect(inv!.fees.map((f) => f.feeType)).toEqual(['subscription', 'charge']);
    expect(inv!.fees[0]).toMatchObject({ amountCents: 5000, fromDatetime: '2026-12-01T00:00:00.000Z', toDatetime: '2027-01-01T00:00:00.000Z' });
    expect(inv!.fees[1]).toMatchObject({ units: '3', eventsCount: 3 });
  });
});

describe('termination invoice', () => {
  it('bills [start, terminatedAt): prorated subscription fee and only the events before the termination', async () => {
    const s = await tokenSetup();
    const terminatedAt = '2026-11-16T00:00:00.000Z';
    await insertEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-10T00:00:00Z', properties: { tokens: 1000000 } },
      { code: 'tokens', timestamp: '2026-11-15T23:59:59.999Z', properties: { tokens: 1000000 } },
      { code: 'tokens', timestamp: terminatedAt, properties: { tokens: 50000000 } }, // at the end instant: excluded
    ]);
    await s.activities.markSubscriptionTerminated({ organizationId: s.org.id, subscriptionId: s.sub.id, terminatedAt });
    const res = await s.activities.createPeriodInvoice({
      organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'termination', period: { start: NOV.start, end: terminatedAt }, fullPeriod: NOV,
    });
    // 15 of 30 days of 2000 = 1000; 2,000,000 tokens × 0.000002 = 4.00
    expect(res.totalAmountCents).toBe(1000 + 400);
    const inv = await getInvoice(t.db, s.org.id, res.invoiceId);
    expect(inv).toMatchObject({ invoiceType: 'termination', periodStart: NOV.start, periodEnd: terminatedAt });
    expect(inv!.fees.find((f) => f.feeType === 'subscription')).toMatchObject({ amountCents: 1000, prorationRatio: '0.5', toDatetime: terminatedAt });

    // Refreshing the termination draft keeps its full period (the proration denominator).
    const refreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: res.invoiceId });
    expect(refreshed.totalAmountCents).toBe(1400);
  });

  it('markSubscriptionTerminated is idempotent and keeps the first termination instant', async () => {
    const s = await tokenSetup();
    const acts = s.activities;
    await acts.markSubscriptionTerminated({ organizationId: s.org.id, subscriptionId: s.sub.id, terminatedAt: '2026-11-16T00:00:00Z' });
    await acts.markSubscriptionTerminated({ organizationId: s.org.id, subscriptionId: s.sub.id, terminatedAt: '2026-11-20T00:00:00Z' });
    const row = await t.db('subscriptions').where({ id: s.sub.id }).first('status', 'terminated_at');
    expect(row.status).toBe('terminated');
    expect(row.terminated_at.toISOString()).toBe('2026-11-16T00:00:00.000Z');
  });
});

describe('finalizeInvoice', () => {
  it('is idempotent and numbers invoices sequentially without gaps per organization, even when finalized concurrently', async () => {
    const s = await tokenSetup({ slug: 'acme-corp' });
    const months = ['2026-08', '2026-09', '2026-10', '2026-11'];
    const ids: string[] = [];
    for (const m of months) {
      const start = `${m}-01T00:00:00.000Z`;
      const end = new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)), 1)).toISOString();
      ids.push((await s.activities.createPeriodInvoice({ ...s.input, period: { start, end }, fullPeriod: { start, end } })).invoiceId);
    }
    const first = await Promise.all(ids.map((invoiceId) => s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId })));
    expect(first.every((r) => r.status === 'finalized')).toBe(true);
    const again = await Promise.all(ids.map((invoiceId) => s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId })));
    expect(again.map((r) => r.status)).toEqual(['finalized', 'finalized', 'finalized', 'finalized']);

    const invoices = await Promise.all(ids.map((id) => getInvoice(t.db, s.org.id, id)));
    const numbers = invoices.map((i) => i!.number!);
    const seqs = numbers.map((n) => Number(n.split('-').pop())).sort((a, b) => a - b);
    expect(seqs).toEqual([1, 2, 3, 4]);
    for (const inv of invoices) {
      expect(inv!.number).toMatch(/^ACM-\d{6}-00000[1-4]$/);
      expect(inv!.issuingDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(inv!.finalizedAt).not.toBeNull();
    }
    const seq = await t.db('invoice_sequences').where({ organization_id: s.org.id }).first();
    expect(seq.last_number).toBe(4);

    // Another organization has its own sequence.
    const other = await tokenSetup({ slug: 'zeta' });
    const o = await other.activities.createPeriodInvoice(other.input);
    await other.activities.finalizeInvoice({ organizationId: other.org.id, invoiceId: o.invoiceId });
    expect((await getInvoice(t.db, other.org.id, o.invoiceId))!.number).toMatch(/^ZET-\d{6}-000001$/);
  });

  it('a finalized invoice is immutable: a late event and a re-run leave its fees and totals unchanged', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-05T00:00:00Z', properties: { tokens: 1000000 } }]);
    const created = await s.activities.createPeriodInvoice(s.input);
    await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: created.invoiceId });
    const before = await getInvoice(t.db, s.org.id, created.invoiceId);
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-06T00:00:00Z', properties: { tokens: 9000000 } }]);
    const refreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: created.invoiceId });
    const rerun = await s.activities.createPeriodInvoice(s.input);
    expect(refreshed).toMatchObject({ status: 'finalized', totalAmountCents: 2200 });
    expect(rerun).toMatchObject({ invoiceId: created.invoiceId, status: 'finalized', totalAmountCents: 2200, created: false });
    expect(await getInvoice(t.db, s.org.id, created.invoiceId)).toEqual(before);
  });

  it('sets the issuing date in the customer timezone', async () => {
    const s = await createBillingSetup(t.db, {
      customer: { timezone: 'Pacific/Auckland' },
      metrics: [{ code: 'calls' }],
      charges: ([m]) => [{ metricId: m!.id, properties: { amount: '1' } }],
    });
    const acts = createActivities({ db: t.db });
    const res = await acts.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
    const { finalizeInvoice } = await import('../../db/repositories/invoices');
    // 2026-12-01T12:00Z is already Dec 2 in Auckland (UTC+13).
    const fin = await finalizeInvoice(t.db, s.org.id, res.invoiceId, { now: new Date('2026-12-01T12:00:00Z') });
    expect(fin.issuingDate).toBe('2026-12-02');
    expect(fin.number).toMatch(/-202612-000001$/);
  });
});

describe('failures', () => {
  async function expectNonRetryable(p: Promise<unknown>, type: string): Promise<ApplicationFailure> {
    const err = await p.then(
      () => { throw new Error('expected a failure'); },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.nonRetryable).toBe(true);
    expect(f.type).toBe(type);
    return f;
  }

  // Issue 8: one unusable stored row must not block the period; it is quarantined (db/repositories/quarantine.ts).
  it('a non-numeric value of a sum metric (SQL path) is quarantined with invalid_value and the period is invoiced without it', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-05T00:00:00Z', properties: { tokens: 10 } },
      { code: 'tokens', timestamp: '2026-11-06T00:00:00Z', properties: { tokens: 'lots' }, transactionId: 'tx-bad-1' },
    ]);
    const res = await s.activities.createPeriodInvoice(s.input);
    expect(res.created).toBe(true);
    expect(await t.db('quarantined_events').where({ organization_id: s.org.id }).select('transaction_id', 'reason_code'))
      .toEqual([{ transaction_id: 'tx-bad-1', reason_code: 'invalid_value' }]);
    expect(await invoiceCount(s.sub.id)).toBe(1);
  });

  it('a non-numeric value on a filtered charge (event path) is quarantined the same way', async () => {
    const s = await tokenSetup();
    await insertEvents(t.db, s.ref, [
      { code: 'gpu_seconds', timestamp: '2026-11-05T00:00:00Z', properties: { seconds: true, gpu: 'h100' }, transactionId: 'tx-bad-2' },
    ]);
    await s.activities.createPeriodInvoice(s.input);
    expect(await t.db('quarantined_events').where({ organization_id: s.org.id }).pluck('transaction_id')).toEqual(['tx-bad-2']);
  });

  it('invalid stored plan data fails non-retryably with type invalid_plan', async () => {
    const s = await tokenSetup();
    await t.db('charges').where({ id: s.plan.chargeIds[0] }).update({ properties: JSON.stringify({ amount: 'free' }) });
    await expectNonRetryable(s.activities.createPeriodInvoice(s.input), 'invalid_plan');
  });

  it('an unknown invoice fails non-retryably with type invoice_not_found', async () => {
    const s = await tokenSetup();
    await expectNonRetryable(
      s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: '00000000-0000-4000-8000-000000000000' }),
      'invoice_not_found',
    );
  });

  it('a transient database error (deadlock, serialization failure) is rethrown as is, so the retry policy applies', async () => {
    const { classifyError } = await import('../../activities/invoices');
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(classifyError(deadlock)).toBe(deadlock);
    const serialization = Object.assign(new Error('could not serialize access'), { code: '40001' });
    expect(classifyError(serialization)).toBe(serialization);
  });
});

describe('invoice read side', () => {
  it('getInvoice scopes by organization and listInvoices filters and pages', async () => {
    const a = await tokenSetup();
    const b = await tokenSetup();
    const ia = await a.activities.createPeriodInvoice(a.input);
    await a.activities.createPeriodInvoice({ ...a.input, period: { start: '2026-10-01T00:00:00.000Z', end: NOV.start }, fullPeriod: { start: '2026-10-01T00:00:00.000Z', end: NOV.start } });
    await b.activities.createPeriodInvoice(b.input);

    expect(await getInvoice(t.db, b.org.id, ia.invoiceId)).toBeNull();
    expect(await getInvoice(t.db, a.org.id, 'not-a-uuid')).toBeNull();
    const got = await getInvoice(t.db, a.org.id, ia.invoiceId);
    expect(got).toMatchObject({ externalCustomerId: a.customer.externalId, externalSubscriptionId: a.sub.externalId, status: 'draft', number: null, issuingDate: null, taxesAmountCents: 0 });

    const all = await listInvoices(t.db, a.org.id, { page: 1, perPage: 1 });
    expect(all.totalCount).toBe(2);
    expect(all.invoices).toHaveLength(1);
    const page2 = await listInvoices(t.db, a.org.id, { page: 2, perPage: 1 });
    expect(page2.invoices[0]!.id).not.toBe(all.invoices[0]!.id);
    expect((await listInvoices(t.db, a.org.id, { externalSubscriptionId: a.sub.externalId, page: 1, perPage: 10 })).totalCount).toBe(2);
    expect((await listInvoices(t.db, a.org.id, { externalCustomerId: 'nobody', page: 1, perPage: 10 })).totalCount).toBe(0);
    expect((await listInvoices(t.db, a.org.id, { status: 'finalized', page: 1, perPage: 10 })).totalCount).toBe(0);
    expect(all.invoices[0]!.fees.length).toBeGreaterThan(0);
  });
});
