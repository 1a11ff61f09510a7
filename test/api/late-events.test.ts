// The API side of late events: the notifier matches committed usage to draft invoice periods read from Postgres
// and sends coalesced refreshInvoiceSignals; GET /invoices serializes adjustment fees.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../../api/errors';
import { bucketOverlapsPeriod, LateEventNotifier } from '../../api/ingest/late-events';
import { UsageSignaller } from '../../api/ingest/usage-signaller';
import { createActivities } from '../../activities';
import { createBillingSetup, createCustomer, createMetric, createPlan, createSubscription, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';
import { startApiHarness, type ApiHarness } from './harness';

const OCT = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A Temporal client that records signals; `gone` workflow ids answer WorkflowNotFoundError. */
function fakeTemporal(gone: Set<string> = new Set()) {
  const signals: { workflowId: string; name: string }[] = [];
  const client = {
    workflow: {
      getHandle(workflowId: string) {
        return {
          async signal(def: { name: string }) {
            if (gone.has(workflowId)) throw new WorkflowNotFoundError('not found', workflowId, undefined);
            signals.push({ workflowId, name: def.name });
          },
        };
      },
    },
  } as unknown as Client;
  return { client, signals };
}

const delta = (bucketStart: string) => ({ metricCode: 'tokens', bucketStart, eventsCount: 1, units: '1' });

describe('bucketOverlapsPeriod', () => {
  it('matches an hour bucket that overlaps [start, end) and nothing else', () => {
    expect(bucketOverlapsPeriod('2026-10-31T23:00:00.000Z', OCT)).toBe(true);
    expect(bucketOverlapsPeriod('2026-11-01T00:00:00.000Z', OCT)).toBe(false);
    expect(bucketOverlapsPeriod('2026-09-30T23:00:00.000Z', OCT)).toBe(false);
    // A termination period ending mid-hour still matches the hour it ends in, conservatively.
    expect(bucketOverlapsPeriod('2026-10-16T10:00:00.000Z', { start: OCT.start, end: '2026-10-16T10:30:00.000Z' })).toBe(true);
    expect(bucketOverlapsPeriod('2026-10-16T10:00:00.000Z', { start: '2026-10-16T10:59:00.000Z', end: NOV.start })).toBe(true);
  });
});

describe('LateEventNotifier (real Postgres, recorded signals)', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase('api_late'); });
  afterAll(async () => { await t.drop(); });

  async function withDraft() {
    const s = await createBillingSetup(t.db, {
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([m]) => [{ metricId: m!.id, properties: { amount: '0.000002' } }],
    });
    const acts = createActivities({ db: t.db });
    const oct = await acts.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: OCT, fullPeriod: OCT });
    return { ...s, acts, octId: oct.invoiceId };
  }

  it('signals the draft invoice whose period a new event falls in, once per flush, and nothing for events of the open period', async () => {
    const s = await withDraft();
    const { client, signals } = fakeTemporal();
    const n = new LateEventNotifier(t.db, client, { logger: quiet, minSignalIntervalMs: 0 });

    n.observe(s.sub.id, [delta('2026-11-03T10:00:00.000Z')]); // open period (November): not late
    await n.flush();
    expect(signals).toEqual([]);

    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z'), delta('2026-10-31T23:00:00.000Z'), delta('2026-11-03T11:00:00.000Z')]);
    await n.flush();
    expect(signals).toEqual([{ workflowId: `invoice:${s.octId}`, name: 'refreshInvoiceSignal' }]);
    expect(n.counters.lookups).toBe(1); // the drafts were read once, then served from the cache
  });

  it('coalesces: at most one signal per invoice per interval; the next one goes out on a later flush', async () => {
    const s = await withDraft();
    const { client, signals } = fakeTemporal();
    const n = new LateEventNotifier(t.db, client, { logger: quiet, minSignalIntervalMs: 300 });
    for (let i = 0; i < 20; i += 1) {
      n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]);
      await n.flush();
    }
    expect(signals).toHaveLength(1);
    expect(n.pendingInvoices()).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    await n.flush();
    expect(signals).toHaveLength(2);
    expect(n.pendingInvoices()).toBe(0);
  });

  it('sees a draft created after its cache entry once the entry expires, and forgets drafts whose workflow is gone', async () => {
    const s = await createBillingSetup(t.db, {
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([m]) => [{ metricId: m!.id, properties: { amount: '0.000002' } }],
    });
    const gone = new Set<string>();
    const { client, signals } = fakeTemporal(gone);
    const n = new LateEventNotifier(t.db, client, { logger: quiet, minSignalIntervalMs: 0, cacheTtlMs: 200 });
    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]);
    await n.flush();
    expect(signals).toEqual([]); // no draft yet

    const oct = await createActivities({ db: t.db }).createPeriodInvoice({
      organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: OCT, fullPeriod: OCT,
    });
    await new Promise((r) => setTimeout(r, 250));
    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]);
    await n.flush();
    expect(signals).toEqual([{ workflowId: `invoice:${oct.invoiceId}`, name: 'refreshInvoiceSignal' }]);

    gone.add(`invoice:${oct.invoiceId}`);
    const lookups = n.counters.lookups;
    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]);
    await n.flush();
    expect(n.counters.signalFailures).toBe(1);
    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]);
    await n.flush();
    expect(n.counters.lookups).toBe(lookups + 1); // the stale entry was dropped and read again
  });

  it('a late event matched against a cached "no draft" answer still refreshes the draft created after that lookup, once the entry is read again', async () => {
    const s = await createBillingSetup(t.db, {
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([m]) => [{ metricId: m!.id, properties: { amount: '0.000002' } }],
    });
    const { client, signals } = fakeTemporal();
    let clock = 1_000; // the cache's manual clock: expiry follows the test's steps, never the machine's speed
    const n = new LateEventNotifier(t.db, client, { logger: quiet, minSignalIntervalMs: 0, cacheTtlMs: 200, now: () => clock });
    n.observe(s.sub.id, [delta('2026-10-20T10:00:00.000Z')]); // an on-time event: the lookup finds no draft
    await n.flush();
    expect(n.counters.lookups).toBe(1);

    // The period is closed (a draft) while "no draft" is cached; then the late event arrives.
    const oct = await createActivities({ db: t.db }).createPeriodInvoice({
      organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: OCT, fullPeriod: OCT,
    });
    n.observe(s.sub.id, [delta('2026-10-20T11:00:00.000Z'), delta('2026-11-03T10:00:00.000Z')]);
    await n.flush();
    expect(signals).toEqual([]); // the cached answer is still trusted
    expect(n.counters.lookups).toBe(1);

    // No further event: the kept buckets are matched again once the entry expired and was read again.
    clock += 250;
    await n.flush();
    expect(n.counters.lookups).toBe(2);
    expect(signals).toEqual([{ workflowId: `invoice:${oct.invoiceId}`, name: 'refreshInvoiceSignal' }]);

    // Matched against a fresh answer, the buckets are done: no further lookup nor signal.
    clock += 250;
    await n.flush();
    expect(n.counters.lookups).toBe(2);
    expect(signals).toHaveLength(1);
  });

  it('is fed by the usage signaller: committed deltas reach it at each flush', async () => {
    const s = await withDraft();
    const { client, signals } = fakeTemporal();
    const notifier = new LateEventNotifier(t.db, client, { logger: quiet, minSignalIntervalMs: 0 });
    const signaller = new UsageSignaller(client, { logger: quiet, observer: notifier });
    signaller.add(s.sub.id, delta('2026-10-31T22:00:00.000Z'));
    signaller.add(s.sub.id, delta('2026-10-31T22:00:00.000Z'));
    await signaller.flush();
    expect(signals).toEqual([
      { workflowId: `subscription:${s.sub.id}`, name: 'usageSignal' },
      { workflowId: `invoice:${s.octId}`, name: 'refreshInvoiceSignal' },
    ]);
  });
});

describe('GET /invoices with an adjustment fee', () => {
  let h: ApiHarness;
  beforeAll(async () => { h = await startApiHarness({ prefix: 'api_adj' }); });
  afterAll(async () => { await h?.stop(); });

  it('serializes the adjustment with its label, the metric item and the original invoice and period', async () => {
    const db = h.database.db;
    const customer = await createCustomer(db, h.org.id);
    const metric = await createMetric(db, h.org.id, { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' });
    const plan = await createPlan(db, h.org.id, { amountCents: 2000, charges: [{ metricId: metric.id, properties: { amount: '0.000002' } }] });
    const sub = await createSubscription(db, h.org.id, customer.id, plan.id);
    const ref = { organizationId: h.org.id, subscriptionId: sub.id, externalSubscriptionId: sub.externalId };
    const acts = createActivities({ db });
    const oct = await acts.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.id, kind: 'subscription', period: OCT, fullPeriod: OCT });
    await acts.finalizeInvoice({ organizationId: h.org.id, invoiceId: oct.invoiceId });
    await insertEvents(db, ref, [{ code: 'tokens', timestamp: '2026-10-30T00:00:00Z', properties: { tokens: 2_500_000 } }]);
    const nov = await acts.createPeriodInvoice({ organizationId: h.org.id, subscriptionId: sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });

    const res = await h.request('GET', `/invoices/${nov.invoiceId}`);
    expect(res.status).toBe(200);
    expect(res.body.invoice.total_amount_cents).toBe(2000 + 500);
    const adj = res.body.invoice.fees.find((f: any) => f.adjustment !== null);
    expect(adj).toMatchObject({
      amount_cents: 500,
      units: '2500000',
      from_date: OCT.start,
      to_date: OCT.end,
      item: {
        type: 'charge',
        code: 'tokens',
        item_type: 'BillableMetric',
        lago_item_id: metric.id,
        name: 'Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)',
        invoice_display_name: 'Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)',
      },
      adjustment: {
        lago_adjusted_invoice_id: oct.invoiceId,
        adjusted_fee_type: 'charge',
        from_datetime: OCT.start,
        to_datetime: OCT.end,
        reason: 'late_events',
      },
    });
    // Every other fee says it is not an adjustment.
    expect(res.body.invoice.fees.filter((f: any) => f.adjustment === null)).toHaveLength(2);
    const list = await h.request('GET', `/invoices?external_subscription_id=${sub.externalId}`);
    expect(list.body.invoices.find((i: any) => i.lago_id === nov.invoiceId).fees).toHaveLength(3);
  });
});
