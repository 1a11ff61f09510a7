// Late events against real Postgres: during the grace period they re-rate the draft (refresh, and finalization
// itself); after finalization they become an adjustment on the subscription's next invoice, exactly once.
import { createActivities } from '../../activities';
import { draftInvoicePeriods, draftInvoicePeriodsOfSubscriptions, getInvoice } from '../../db/repositories/invoices';
import { createBillingSetup, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const OCT = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const DEC = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_late');
});
afterAll(async () => {
  await t.drop();
});

/** $20.00 in arrears + 0.000002 USD per token. */
async function setup() {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    org: { invoiceGracePeriod: 1 },
    metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
    charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.000002' } }],
  });
  const activities = createActivities({ db: t.db });
  const close = (period: { start: string; end: string }) =>
    activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period, fullPeriod: period });
  const finalize = (invoiceId: string) => activities.finalizeInvoice({ organizationId: s.org.id, invoiceId });
  const tokens = (timestamp: string, n: number) => insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp, properties: { tokens: n } }]);
  const fees = async (invoiceId: string) => (await getInvoice(t.db, s.org.id, invoiceId))!.fees;
  return { ...s, activities, close, finalize, tokens, fees };
}

describe('late events while the invoice is a draft (grace period)', () => {
  it('refreshDraftInvoice includes a late event of the draft period, with no adjustment line', async () => {
    const s = await setup();
    await s.tokens('2026-10-10T00:00:00Z', 1_000_000);
    const draft = await s.close(OCT);
    expect(draft.totalAmountCents).toBe(2000 + 200);
    await s.tokens('2026-10-31T23:00:00Z', 4_000_000); // arrives during the grace period
    const refreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId });
    expect(refreshed).toMatchObject({ invoiceId: draft.invoiceId, status: 'draft', totalAmountCents: 2000 + 1000 });
    expect((await s.fees(draft.invoiceId)).map((f) => f.feeType)).toEqual(['subscription', 'charge']);
  });

  it('finalizeInvoice re-rates the draft before numbering it: a late event whose refresh signal was lost is still billed', async () => {
    const s = await setup();
    await s.tokens('2026-10-10T00:00:00Z', 1_000_000);
    const draft = await s.close(OCT);
    await s.tokens('2026-10-20T00:00:00Z', 9_000_000); // no refresh happens
    const fin = await s.finalize(draft.invoiceId);
    expect(fin).toMatchObject({ status: 'finalized', totalAmountCents: 2000 + 2000 });
    const inv = await getInvoice(t.db, s.org.id, draft.invoiceId);
    expect(inv).toMatchObject({ status: 'finalized', totalAmountCents: 4000, feesAmountCents: 4000 });
    expect(inv!.number).not.toBeNull();
    expect(inv!.fees.find((f) => f.feeType === 'charge')).toMatchObject({ units: '10000000', eventsCount: 2, amountCents: 2000 });
  });

  it('draftInvoicePeriods lists only the subscription\'s drafts with their periods, scoped by organization', async () => {
    const s = await setup();
    const oct = await s.close(OCT);
    await s.finalize(oct.invoiceId);
    const nov = await s.close(NOV);
    expect(await draftInvoicePeriods(t.db, s.org.id, s.sub.id)).toEqual([{ invoiceId: nov.invoiceId, invoiceType: 'subscription', period: NOV }]);
    const other = await setup();
    expect(await draftInvoicePeriods(t.db, other.org.id, s.sub.id)).toEqual([]);
    const bySub = await draftInvoicePeriodsOfSubscriptions(t.db, [s.sub.id, other.sub.id, '00000000-0000-4000-8000-000000000000']);
    expect(bySub.get(s.sub.id)).toEqual({ organizationId: s.org.id, drafts: [{ invoiceId: nov.invoiceId, invoiceType: 'subscription', period: NOV }] });
    expect(bySub.get(other.sub.id)).toEqual({ organizationId: other.org.id, drafts: [] });
    expect(bySub.has('00000000-0000-4000-8000-000000000000')).toBe(false);
  });
});

describe('late events of an already finalized period', () => {
  it('are billed once as an adjustment on the NEXT invoice naming the original period, even when the close runs twice', async () => {
    const s = await setup();
    await s.tokens('2026-10-10T00:00:00Z', 1_000_000);
    const oct = await s.close(OCT);
    await s.finalize(oct.invoiceId);
    await s.tokens('2026-10-25T00:00:00Z', 3_000_000); // late: October is finalized
    await s.tokens('2026-11-05T00:00:00Z', 500_000);

    const nov = await s.close(NOV);
    const novAgain = await s.close(NOV); // a replayed / retried close
    expect(novAgain.invoiceId).toBe(nov.invoiceId);
    // 2000 fee + 100 (November tokens) + 600 (October's 3,000,000 late tokens)
    expect(novAgain.totalAmountCents).toBe(2000 + 100 + 600);

    const fees = await s.fees(nov.invoiceId);
    const adjustments = fees.filter((f) => f.feeType === 'adjustment');
    expect(adjustments).toHaveLength(1);
    expect(adjustments[0]).toMatchObject({
      displayName: 'Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)',
      metricCode: 'tokens',
      units: '3000000',
      eventsCount: 1,
      amountCents: 600,
      fromDatetime: OCT.start,
      toDatetime: OCT.end,
      adjustsInvoiceId: oct.invoiceId,
      adjustsPeriodStart: OCT.start,
      adjustsPeriodEnd: OCT.end,
      adjustsFeeType: 'charge',
    });
    // The original October invoice is untouched.
    expect((await getInvoice(t.db, s.org.id, oct.invoiceId))!.totalAmountCents).toBe(2200);

    // Refresh and finalization of November recompute the same single adjustment.
    await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: nov.invoiceId });
    const finNov = await s.finalize(nov.invoiceId);
    expect(finNov.totalAmountCents).toBe(2700);
    expect((await s.fees(nov.invoiceId)).filter((f) => f.feeType === 'adjustment')).toHaveLength(1);

    // December: October's late usage is billed (on November) → no second adjustment.
    const dec = await s.close(DEC);
    expect(dec.totalAmountCents).toBe(2000);
    expect((await s.fees(dec.invoiceId)).filter((f) => f.feeType === 'adjustment')).toEqual([]);

    // Another late October event after that: a new adjustment for only the new usage, on December.
    await s.tokens('2026-10-30T00:00:00Z', 1_000_000);
    const decRefreshed = await s.activities.refreshDraftInvoice({ organizationId: s.org.id, invoiceId: dec.invoiceId });
    expect(decRefreshed.totalAmountCents).toBe(2000 + 200);
    const decAdj = (await s.fees(dec.invoiceId)).filter((f) => f.feeType === 'adjustment');
    expect(decAdj.map((f) => [f.adjustsInvoiceId, f.units, f.amountCents])).toEqual([[oct.invoiceId, '1000000', 200]]);
  });

  it('no late events → no adjustment lines on the next invoices', async () => {
    const s = await setup();
    await s.tokens('2026-10-10T00:00:00Z', 1_000_000);
    await s.tokens('2026-11-10T00:00:00Z', 2_000_000);
    const oct = await s.close(OCT);
    await s.finalize(oct.invoiceId);
    const nov = await s.close(NOV);
    await s.finalize(nov.invoiceId);
    const dec = await s.close(DEC);
    expect(dec.totalAmountCents).toBe(2000);
    for (const id of [nov.invoiceId, dec.invoiceId]) {
      expect((await s.fees(id)).map((f) => f.feeType)).toEqual(['subscription', 'charge']);
    }
    expect((await getInvoice(t.db, s.org.id, nov.invoiceId))!.totalAmountCents).toBe(2400);
  });

  it('two invoices of one subscription finalized at the same time bill a late event once (termination + period invoice)', async () => {
    const s = await setup();
    const oct = await s.close(OCT);
    await s.finalize(oct.invoiceId);
    await s.tokens('2026-10-15T00:00:00Z', 5_000_000); // late October usage: 10.00 USD
    const nov = await s.close(NOV); // draft, in grace
    const term = await s.activities.createPeriodInvoice({
      organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'termination',
      period: { start: DEC.start, end: '2026-12-16T00:00:00.000Z' }, fullPeriod: DEC,
    });
    // Both drafts show October's adjustment (neither is billed yet)...
    for (const id of [nov.invoiceId, term.invoiceId]) expect((await s.fees(id)).filter((f) => f.feeType === 'adjustment')).toHaveLength(1);
    // ...but once both are finalized, concurrently, it is billed exactly once.
    await Promise.all([s.finalize(nov.invoiceId), s.finalize(term.invoiceId)]);
    const billed = await t.db('fees as f')
      .join('invoices as i', 'i.id', 'f.invoice_id')
      .where({ 'f.adjusts_invoice_id': oct.invoiceId, 'i.status': 'finalized' })
      .select('f.amount_cents');
    expect(billed.map((r: { amount_cents: string | number }) => Number(r.amount_cents))).toEqual([1000]);
  });

  it('only subscription and termination invoices are adjusted and carry adjustments; drafts are never adjusted', async () => {
    const s = await setup();
    const oct = await s.close(OCT); // still a draft: its late events belong to it, not to an adjustment
    await s.tokens('2026-10-15T00:00:00Z', 5_000_000);
    const nov = await s.close(NOV);
    expect((await s.fees(nov.invoiceId)).filter((f) => f.feeType === 'adjustment')).toEqual([]);
    expect((await s.finalize(oct.invoiceId)).totalAmountCents).toBe(2000 + 1000);
  });
});
