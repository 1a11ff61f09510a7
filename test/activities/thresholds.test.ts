// Usage thresholds (progressive billing) and usage alerts against real Postgres: activities/thresholds.ts and
// the final invoice's deduction in activities/invoices.ts.
//
// Plan: 20.00 USD subscription fee in arrears + tokens (sum_agg) at 0.01 USD = 1 cent per token. The open
// period contains the real clock (anniversary: it started 10 days ago), because thresholds act only while the
// period is open; events are timestamped in the past so the progressive invoice [period start, now) sees them.
import { createActivities } from '../../activities';
import type { EvaluateThresholdsInput } from '../../activities/types';
import { createAlert } from '../../db/repositories/alerts';
import { getInvoice } from '../../db/repositories/invoices';
import { deleteDraftInvoice } from '../../db/repositories/invoice-deletion';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_thr');
});
afterAll(async () => {
  await t.drop();
});

const periodStartMs = Math.floor((Date.now() - 10 * DAY_MS) / HOUR_MS) * HOUR_MS;
const PERIOD = { start: new Date(periodStartMs).toISOString(), end: new Date(periodStartMs + 30 * DAY_MS).toISOString() };
const at = (hours: number) => new Date(periodStartMs + hours * HOUR_MS + 60_000).toISOString();

async function setup(thresholds: { amount_cents: number; recurring: boolean }[]) {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 2000,
    metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
    charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.01' } }],
    subscriptionAt: PERIOD.start,
  });
  await t.db('plans')
    .where({ id: s.plan.id })
    .update({ usage_thresholds: JSON.stringify(thresholds.map((x) => ({ ...x, threshold_display_name: null }))) });
  const activities = createActivities({ db: t.db });
  const input: EvaluateThresholdsInput = { organizationId: s.org.id, subscriptionId: s.sub.id, period: PERIOD, fullPeriod: PERIOD };
  const tokens = (n: number, hours: number) => ingestEvents(t.db, s.ref, [{ code: 'tokens', timestamp: at(hours), properties: { tokens: n } }]);
  return { ...s, activities, input, tokens };
}

async function progressiveInvoices(subscriptionId: string) {
  return t.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'progressive_billing' }).orderBy('period_end');
}

describe('evaluateUsageThresholds', () => {
  it('usage worth 900 cents below the 1000-cent threshold issues no invoice and confirms 900 cents and 900 tokens', async () => {
    const s = await setup([{ amount_cents: 1000, recurring: false }]);
    await s.tokens(900, 1);
    const res = await s.activities.evaluateUsageThresholds(s.input);
    expect(res).toMatchObject({ amountCents: 900, metrics: { tokens: { eventsCount: 1, units: '900' } }, progressiveInvoices: [], alertTriggersRecorded: 0 });
    expect(res.rules).toMatchObject({ active: true, amountLadders: [{ levels: ['1000'], recurringStep: null }] });
    expect(await progressiveInvoices(s.sub.id)).toHaveLength(0);
  });

  it('crossing 1000 cents issues exactly ONE progressive invoice of the usage to date (no subscription fee), even evaluated twice concurrently and once more', async () => {
    const s = await setup([{ amount_cents: 1000, recurring: false }]);
    await s.tokens(1100, 2);
    const [a, b] = await Promise.all([s.activities.evaluateUsageThresholds(s.input), s.activities.evaluateUsageThresholds(s.input)]);
    const c = await s.activities.evaluateUsageThresholds(s.input);

    const rows = await progressiveInvoices(s.sub.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ threshold_key: 'usage_threshold:1000', total_amount_cents: 1100, status: 'draft' });
    expect(rows[0].period_start.toISOString()).toBe(PERIOD.start);
    expect(rows[0].period_end.getTime()).toBeLessThanOrEqual(Date.now());
    for (const r of [a, b, c]) {
      expect(r.amountCents).toBe(1100);
      expect(r.progressiveInvoices.map((i) => i.invoiceId)).toEqual([rows[0].id]);
      expect(r.progressiveInvoices[0]).toMatchObject({ totalAmountCents: 1100, gracePeriodDays: 0, currency: 'USD' });
    }
    // Exactly one of the three calls created it.
    expect([a, b, c].filter((r) => r.progressiveInvoices[0]!.created)).toHaveLength(1);
    const inv = await getInvoice(t.db, s.org.id, rows[0].id);
    expect(inv!.fees.map((f) => [f.feeType, f.units, f.amountCents])).toEqual([['charge', '1100', 1100]]);
  });

  it('a second threshold bills usage to date minus the first progressive invoice; the final invoice deducts both; finalizing keeps the amounts', async () => {
    const s = await setup([
      { amount_cents: 1000, recurring: false },
      { amount_cents: 1000, recurring: true },
    ]);
    await s.tokens(1100, 3);
    await s.activities.evaluateUsageThresholds(s.input);
    await s.tokens(1000, 4); // 2100 cents: the recurring level 2000 is crossed
    const second = await s.activities.evaluateUsageThresholds(s.input);
    const rows = await progressiveInvoices(s.sub.id);
    expect(rows.map((r) => [r.threshold_key, Number(r.total_amount_cents)])).toEqual([
      ['usage_threshold:1000', 1100],
      ['usage_threshold:2000', 1000],
    ]);
    expect(second.progressiveInvoices.map((i) => i.totalAmountCents)).toEqual([1100, 1000]);
    const inv2 = await getInvoice(t.db, s.org.id, rows[1].id);
    expect(inv2!.fees.map((f) => [f.feeType, f.amountCents])).toEqual([
      ['charge', 2100],
      ['progressive_billing_credit', -1100],
    ]);

    // Finalization re-rates the draft (activities/invoices.ts): still no subscription fee, still the deduction.
    const fin = await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: rows[1].id });
    expect(fin).toMatchObject({ status: 'finalized', totalAmountCents: 1000 });

    // The period's final invoice: 2000 fee + 2100 usage − 2100 already billed progressively.
    const final = await s.activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: PERIOD, fullPeriod: PERIOD });
    expect(final.totalAmountCents).toBe(2000);
    const finalInv = await getInvoice(t.db, s.org.id, final.invoiceId);
    expect(finalInv!.fees.map((f) => [f.feeType, f.amountCents])).toEqual([
      ['subscription', 2000],
      ['charge', 2100],
      ['progressive_billing_credit', -2100],
    ]);

    // Once the final invoice exists, no more progressive invoices for the period.
    await s.tokens(5000, 5);
    const after = await s.activities.evaluateUsageThresholds(s.input);
    expect(after.amountCents).toBe(7100);
    expect(await progressiveInvoices(s.sub.id)).toHaveLength(2);
  });

  it('a deleted progressive draft (del13) is not issued again and not deducted: the final invoice bills the whole usage once (Lago credits finalized progressive invoices only)', async () => {
    const s = await setup([{ amount_cents: 1000, recurring: false }]);
    await s.tokens(1100, 2);
    await s.activities.evaluateUsageThresholds(s.input);
    const [progressive] = await progressiveInvoices(s.sub.id);
    expect(await t.db.transaction((trx) => deleteDraftInvoice(trx, s.org.id, progressive.id, new Date()))).toBe('deleted');
    // Evaluated again: the crossing is recorded by the tombstone, no second progressive invoice for the level.
    await s.activities.evaluateUsageThresholds(s.input);
    expect((await progressiveInvoices(s.sub.id)).map((r) => [r.id, r.status])).toEqual([[progressive.id, 'deleted']]);
    const final = await s.activities.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: PERIOD, fullPeriod: PERIOD });
    const finalInv = await getInvoice(t.db, s.org.id, final.invoiceId);
    expect(finalInv!.fees.map((f) => [f.feeType, f.amountCents])).toEqual([
      ['subscription', 2000],
      ['charge', 1100],
    ]);
    expect(final.totalAmountCents).toBe(3100);
  });

  it('alert triggers are recorded once per alert, period and threshold level, even evaluated twice concurrently', async () => {
    const s = await setup([]);
    await createAlert(t.db, s.org.id, {
      subscriptionId: s.sub.id,
      alertType: 'current_usage_amount',
      code: 'spend',
      name: 'Spend',
      billableMetricId: null,
      thresholds: [
        { code: 'warn', value: '500', recurring: false },
        { code: 'limit', value: '1000', recurring: false },
        { code: 'hard', value: '5000', recurring: false },
      ],
    });
    await createAlert(t.db, s.org.id, {
      subscriptionId: s.sub.id,
      alertType: 'billable_metric_current_usage_units',
      code: 'tokens-every-500',
      name: null,
      billableMetricId: s.metrics[0]!.id,
      thresholds: [{ code: 'step', value: '500', recurring: true }],
    });
    await s.tokens(1200, 1);
    const results = await Promise.all([s.activities.evaluateUsageThresholds(s.input), s.activities.evaluateUsageThresholds(s.input)]);
    expect(results.map((r) => r.alertTriggersRecorded).sort()).toEqual([0, 4]);
    expect(results[0]!.rules).toMatchObject({ active: true, unitLadders: { tokens: [{ levels: [], recurringStep: '500' }] } });

    const rows = await t.db('usage_alert_triggers as t')
      .join('usage_alerts as a', 'a.id', 't.alert_id')
      .where('t.subscription_id', s.sub.id)
      .orderBy([{ column: 'a.code' }, { column: 't.threshold_value' }])
      .select('a.code', 't.threshold_code', 't.threshold_value', 't.crossed_value', 't.webhook_status', 't.period_start');
    expect(rows.map((r) => [r.code, r.threshold_code, Number(r.threshold_value), Number(r.crossed_value), r.webhook_status])).toEqual([
      ['spend', 'warn', 500, 1200, 'pending'],
      ['spend', 'limit', 1000, 1200, 'pending'],
      ['tokens-every-500', 'step', 500, 1200, 'pending'],
      ['tokens-every-500', 'step', 1000, 1200, 'pending'],
    ]);
    expect(rows.every((r) => r.period_start.toISOString() === PERIOD.start)).toBe(true);

    // More usage crosses only the new levels.
    await s.tokens(300, 2);
    expect((await s.activities.evaluateUsageThresholds(s.input)).alertTriggersRecorded).toBe(1); // tokens 1500
    const [{ n }] = await t.db('usage_alert_triggers').where({ subscription_id: s.sub.id }).count<{ n: string | number }[]>({ n: '*' });
    expect(Number(n)).toBe(5);
  });

  it('loadBillingRules reports nothing to watch for a plan without thresholds and a subscription without alerts', async () => {
    const s = await setup([]);
    const rules = await s.activities.loadBillingRules({ organizationId: s.org.id, subscriptionId: s.sub.id, period: PERIOD });
    expect(rules).toEqual({ active: false, amountLadders: [], unitLadders: {}, periodicOnly: false, plan: null, countMetricCodes: [] });
  });
});
