// Pay in advance against real Postgres (activities/advance-billing.ts + the period invoice of activities/invoices.ts):
// the subscription fee billed at the start of each period (prorated first period), usage at each end, never twice;
// pay-in-advance charges billed per event, once per event, never on the period-end invoice.
import { createActivities } from '../../activities';
import { unusedAdvanceFeeCredit } from '../../activities/advance-billing';
import { terminationCreditCents } from '../../billing/advance-billing';
import { createBillingSetup, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_adv');
});
afterAll(async () => {
  await t.drop();
});

const AUG = { start: '2026-08-01T00:00:00.000Z', end: '2026-09-01T00:00:00.000Z' };
const AUG_PART = { start: '2026-08-15T00:00:00.000Z', end: AUG.end };
const SEP = { start: AUG.end, end: '2026-10-01T00:00:00.000Z' };
const OCT = { start: SEP.end, end: '2026-11-01T00:00:00.000Z' };
const NOV = { start: OCT.end, end: '2026-12-01T00:00:00.000Z' };

interface FeeRow { fee_type: string; amount_cents: string; from_datetime: Date; to_datetime: Date; units: string }

async function feesOf(invoiceId: string): Promise<Array<[string, number, string, string]>> {
  const rows: FeeRow[] = await t.db('fees').where({ invoice_id: invoiceId }).orderBy('position').select('fee_type', 'amount_cents', 'from_datetime', 'to_datetime', 'units');
  return rows.filter((r) => r.fee_type !== 'charge' || Number(r.amount_cents) !== 0).map((r) => [r.fee_type, Number(r.amount_cents), r.from_datetime.toISOString(), r.to_datetime.toISOString()]);
}

async function advanceSetup() {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 100_00,
    payInAdvance: true,
    subscriptionAt: AUG_PART.start,
    org: { invoiceGracePeriod: 0 },
    metrics: [{ code: 'api_calls', aggregationType: 'sum_agg', fieldName: 'calls' }],
    charges: ([calls]) => [{ metricId: calls!.id, properties: { amount: '0.5' } }],
  });
  return { ...s, activities: createActivities({ db: t.db }), ids: { organizationId: s.org.id, subscriptionId: s.sub.id } };
}

describe('subscription fee in advance', () => {
  it('bills a monthly advance plan over 3 periods: the fee of each period on the invoice at its start (first prorated 17/31), the usage of each period at its end, each fee once', async () => {
    const s = await advanceSetup();
    await insertEvents(t.db, s.ref, [
      { code: 'api_calls', timestamp: '2026-08-20T00:00:00.000Z', properties: { calls: 3 } },
      { code: 'api_calls', timestamp: '2026-09-10T00:00:00.000Z', properties: { calls: 4 } },
      { code: 'api_calls', timestamp: '2026-10-05T00:00:00.000Z', properties: { calls: 5 } },
    ]);
    const start = await s.activities.startAdvancePeriod({ ...s.ids, period: AUG_PART, fullPeriod: AUG });
    expect(start.startInvoice).not.toBeNull();
    // 100.00 × 17/31 (Aug 15..31) = 54.838… → 54.84, for [Aug 15, Sep 1); no usage line on the start invoice.
    expect(await feesOf(start.startInvoice!.invoiceId)).toEqual([['subscription', 54_84, AUG_PART.start, AUG.end]]);
    expect(start.startInvoice!.totalAmountCents).toBe(54_84);

    const close = (period: { start: string; end: string }, fullPeriod = period) =>
      s.activities.createPeriodInvoice({ ...s.ids, kind: 'subscription', period, fullPeriod });
    const aug = await close(AUG_PART, AUG);
    const sep = await close(SEP);
    const oct = await close(OCT);
    expect(await feesOf(aug.invoiceId)).toEqual([['subscription', 100_00, SEP.start, SEP.end], ['charge', 1_50, AUG_PART.start, AUG_PART.end]]);
    expect(await feesOf(sep.invoiceId)).toEqual([['subscription', 100_00, OCT.start, OCT.end], ['charge', 2_00, SEP.start, SEP.end]]);
    expect(await feesOf(oct.invoiceId)).toEqual([['subscription', 100_00, NOV.start, NOV.end], ['charge', 2_50, OCT.start, OCT.end]]);

    // A retried start / close changes nothing: same invoices, no new one.
    const again = await s.activities.startAdvancePeriod({ ...s.ids, period: AUG_PART, fullPeriod: AUG });
    expect(again.startInvoice!.invoiceId).toBe(start.startInvoice!.invoiceId);
    expect((await close(SEP)).invoiceId).toBe(sep.invoiceId);
    // A later period's start issues no start invoice.
    expect((await s.activities.startAdvancePeriod({ ...s.ids, period: SEP, fullPeriod: SEP })).startInvoice).toBeNull();
    const all: Array<{ fee_type: string; from_datetime: Date }> = await t.db('fees as f')
      .join('invoices as i', 'i.id', 'f.invoice_id')
      .where({ 'i.subscription_id': s.sub.id, 'f.fee_type': 'subscription' })
      .select('f.fee_type', 'f.from_datetime');
    expect(all.map((f) => f.from_datetime.toISOString()).sort()).toEqual([AUG_PART.start, SEP.start, OCT.start, NOV.start]);
    expect(await t.db('invoices').where({ subscription_id: s.sub.id }).count<{ n: string }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(4);
  });

  it('a termination invoice of an advance plan bills the usage of the partial period and no fee; the unused fee credit is 20/30 of November', async () => {
    const s = await advanceSetup();
    await insertEvents(t.db, s.ref, [{ code: 'api_calls', timestamp: '2026-11-05T00:00:00.000Z', properties: { calls: 2 } }]);
    const terminatedAt = '2026-11-10T12:00:00.000Z';
    const inv = await s.activities.createPeriodInvoice({ ...s.ids, kind: 'termination', period: { start: NOV.start, end: terminatedAt }, fullPeriod: NOV });
    expect(await feesOf(inv.invoiceId)).toEqual([['charge', 1_00, NOV.start, terminatedAt]]);
    // The fee paid for November (100.00) — days Nov 11..30 unused: 100.00 × 20/30 = 66.666… → 66.66 (rounded down, A1).
    expect(terminationCreditCents({ amountCents: 100_00, currency: 'USD', feePeriod: NOV }, terminatedAt, 'UTC').amountCents).toBe(66_66);
  });

  it('the credit-note hook finds the advance fee that paid for the termination instant and credits its unused days', async () => {
    const s = await advanceSetup();
    const oct = await s.activities.createPeriodInvoice({ ...s.ids, kind: 'subscription', period: OCT, fullPeriod: OCT }); // carries November's fee
    const credit = await unusedAdvanceFeeCredit(t.db, { ...s.ids, terminatedAt: '2026-11-10T12:00:00.000Z', reason: 'termination' });
    expect(credit?.invoiceId).toBe(oct.invoiceId);
    expect([credit?.credit.amountCents, credit?.credit.creditedDays, credit?.credit.feeDays]).toEqual([66_66, 20, 30]);
    const upgrade = await unusedAdvanceFeeCredit(t.db, { ...s.ids, terminatedAt: '2026-11-10T12:00:00.000Z', reason: 'upgrade', alreadyCreditedCents: 10_00 });
    expect(upgrade?.credit.amountCents).toBe(70_00 - 10_00); // 21 days (Nov 10 credited) = 70.00, minus 10.00 credited before
    // No advance fee covers an instant before the subscription's first fee.
    expect(await unusedAdvanceFeeCredit(t.db, { ...s.ids, terminatedAt: '2026-07-01T00:00:00.000Z', reason: 'termination' })).toBeNull();
  });

  it('a termination or an upgrade during a trial credits the whole advance fee paid for the days after the trial (7/31 of 100.00 = 22.58, none of it used)', async () => {
    const s = await advanceSetup();
    await t.db('plans').where({ id: s.plan.id }).update({ trial_period: 10 });
    const start = await s.activities.startAdvancePeriod({ ...s.ids, period: AUG_PART, fullPeriod: AUG });
    // Trial Aug 15 → Aug 25: the start invoice bills [Aug 25, Sep 1), 7 of 31 days: 100.00 × 7/31 = 22.58.
    expect(await feesOf(start.startInvoice!.invoiceId)).toEqual([['subscription', 22_58, '2026-08-25T00:00:00.000Z', AUG.end]]);
    for (const reason of ['termination', 'upgrade'] as const) {
      const credit = await unusedAdvanceFeeCredit(t.db, { ...s.ids, terminatedAt: '2026-08-20T12:00:00.000Z', reason });
      expect([reason, credit?.invoiceId, credit?.credit.amountCents, credit?.credit.creditedDays, credit?.credit.feeDays]).toEqual([reason, start.startInvoice!.invoiceId, 22_58, 7, 7]);
    }
    // Still nothing before the start invoice was issued.
    expect(await unusedAdvanceFeeCredit(t.db, { ...s.ids, terminatedAt: '2026-08-10T00:00:00.000Z', reason: 'termination' })).toBeNull();
  });

  it('an arrears plan is unchanged: the fee of the ended period on its own invoice, and no start invoice', async () => {
    const s = await createBillingSetup(t.db, {
      planAmountCents: 100_00,
      subscriptionAt: AUG_PART.start,
      metrics: [{ code: 'api_calls', aggregationType: 'sum_agg', fieldName: 'calls' }],
      charges: ([calls]) => [{ metricId: calls!.id, properties: { amount: '0.5' } }],
    });
    const activities = createActivities({ db: t.db });
    const ids = { organizationId: s.org.id, subscriptionId: s.sub.id };
    expect((await activities.startAdvancePeriod({ ...ids, period: AUG_PART, fullPeriod: AUG })).startInvoice).toBeNull();
    const aug = await activities.createPeriodInvoice({ ...ids, kind: 'subscription', period: AUG_PART, fullPeriod: AUG });
    expect(await feesOf(aug.invoiceId)).toEqual([['subscription', 54_84, AUG_PART.start, AUG.end]]);
  });
});

describe('pay-in-advance charges, per event', () => {
  async function chargeSetup() {
    const s = await createBillingSetup(t.db, {
      planAmountCents: 0,
      subscriptionAt: NOV.start,
      org: { invoiceGracePeriod: 0 },
      metrics: [
        { code: 'transfers', aggregationType: 'sum_agg', fieldName: 'amount' },
        { code: 'atm', aggregationType: 'count_agg' },
        { code: 'storage', aggregationType: 'sum_agg', fieldName: 'gb' },
      ],
      charges: ([transfers, atm, storage]) => [
        { metricId: transfers!.id, properties: { amount: '0.5' }, payInAdvance: true },
        { metricId: atm!.id, properties: { amount: '2' }, payInAdvance: true },
        { metricId: storage!.id, properties: { amount: '0.1' } },
      ],
    });
    // The ATM charge is not invoiceable: a fee per event, no invoice (Lago's instant fee).
    await t.db('charges').where({ id: s.plan.chargeIds[1] }).update({ invoiceable: false });
    return { ...s, activities: createActivities({ db: t.db }), ids: { organizationId: s.org.id, subscriptionId: s.sub.id } };
  }

  it('bills each event once: an invoiceable charge gets a finalized invoice per event, a non-invoiceable one a fee only; re-running bills nothing more', async () => {
    const s = await chargeSetup();
    await insertEvents(t.db, s.ref, [
      { code: 'transfers', timestamp: '2026-11-02T00:00:00.000Z', properties: { amount: 3 }, transactionId: `tr-1-${s.sub.id}` },
      { code: 'atm', timestamp: '2026-11-02T01:00:00.000Z', transactionId: `atm-1-${s.sub.id}` },
      { code: 'transfers', timestamp: '2026-11-03T00:00:00.000Z', properties: { amount: 4 }, transactionId: `tr-2-${s.sub.id}` },
      { code: 'storage', timestamp: '2026-11-03T00:00:00.000Z', properties: { gb: 10 } },
    ]);
    const first = await s.activities.billInAdvanceCharges({ ...s.ids, period: NOV, fullPeriod: NOV });
    expect(first.feesCreated).toBe(3);
    expect(first.invoices.map((i) => [i.status, i.totalAmountCents])).toEqual([['finalized', 1_50], ['finalized', 2_00]]);
    const fees: Array<{ transaction_id: string; amount_cents: string; invoice_id: string | null }> = await t.db('pay_in_advance_fees')
      .where({ subscription_id: s.sub.id }).orderBy([{ column: 'amount_cents' }, { column: 'metric_code' }]).select('transaction_id', 'amount_cents', 'invoice_id');
    expect(fees.map((f) => [f.transaction_id, Number(f.amount_cents), f.invoice_id !== null])).toEqual([
      [`tr-1-${s.sub.id}`, 1_50, true],
      [`atm-1-${s.sub.id}`, 2_00, false],
      [`tr-2-${s.sub.id}`, 2_00, true],
    ]);
    const invoices = await t.db('invoices').where({ subscription_id: s.sub.id, invoice_type: 'in_advance_charge' }).whereNotNull('number').count<{ n: string }[]>({ n: '*' });
    expect(Number(invoices[0]!.n)).toBe(2);

    // Retried activity / repeated signal: nothing new.
    const again = await s.activities.billInAdvanceCharges({ ...s.ids, period: NOV, fullPeriod: NOV });
    expect(again).toEqual({ feesCreated: 0, invoices: [] });

    // A new event later in the period: only its fee.
    await insertEvents(t.db, s.ref, [{ code: 'transfers', timestamp: '2026-11-20T00:00:00.000Z', properties: { amount: 1 } }]);
    const third = await s.activities.billInAdvanceCharges({ ...s.ids, period: NOV, fullPeriod: NOV });
    expect([third.feesCreated, third.invoices.map((i) => i.totalAmountCents)]).toEqual([1, [50]]);

    // The period-end invoice bills the in-arrears charge only: never the pay-in-advance charges again.
    const close = await s.activities.createPeriodInvoice({ ...s.ids, kind: 'subscription', period: NOV, fullPeriod: NOV });
    const lines: Array<{ fee_type: string; metric_code: string | null; amount_cents: string }> = await t.db('fees')
      .where({ invoice_id: close.invoiceId }).orderBy('position').select('fee_type', 'metric_code', 'amount_cents');
    // The plan's 0.00 fee line (arrears plan) and the storage usage: no transfers or atm line.
    expect(lines.map((l) => [l.fee_type, l.metric_code, Number(l.amount_cents)])).toEqual([['subscription', null, 0], ['charge', 'storage', 1_00]]);
  });
});
