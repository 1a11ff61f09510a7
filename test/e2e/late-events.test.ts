// Real API + worker + Postgres + the Temporal dev server, in real time: an event for the period of an invoice
// that is still a draft (1-day grace period) changes the draft's amount with no manual step — the API matches it
// to the draft and signals the invoice workflow, which re-rates the draft from Postgres.
//
// The on-time event reaches the API's late-event notifier before the termination: its lookup finds no draft and
// caches that answer; the late event then arrives while the cached "no draft" is still trusted (cacheTtlMs, 10 s).
// The notifier keeps such buckets and matches them again once it re-reads the subscription's drafts.
import { startSystem, eventually, type System } from './harness';
import { invoiceStateQuery, invoiceWorkflowId, stateQuery, subscriptionWorkflowId } from '../../workflows/messages';

jest.setTimeout(180_000);

describe('late events during the grace period end to end (Temporal dev server)', () => {
  let sys: System;
  const invoiceIds: string[] = [];
  beforeAll(async () => { sys = await startSystem('dev-server'); });
  afterAll(async () => {
    // The invoice workflow would wait a day on the shared dev server: end it.
    for (const id of invoiceIds) await sys.client.workflow.getHandle(invoiceWorkflowId(id)).terminate('test done').catch(() => undefined);
    await sys?.stop();
  });

  it('a late event sent while the termination invoice is a draft raises its amount, without any manual refresh', async () => {
    const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
    await sys.database.db('organizations').update({ invoice_grace_period: 1 }); // 1 day: the invoice stays a draft
    await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } });
    expect((await r('POST', '/plans', { plan: {
      name: 'Per call', code: 'per_call', interval: 'monthly', amount_cents: 0, amount_currency: 'USD', pay_in_advance: false,
      charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '1' } }],
    } })).status).toBe(200);
    await r('POST', '/customers', { customer: { external_id: 'initech', currency: 'USD', timezone: 'UTC' } });
    const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'initech', plan_code: 'per_call', external_id: 'initech-1' } });
    expect(sub.status).toBe(200);

    await new Promise((res) => setTimeout(res, 50));
    const inPeriod = new Date().toISOString();
    expect((await r('POST', '/events', { event: { transaction_id: 'on-time-1', external_subscription_id: 'initech-1', code: 'calls', timestamp: inPeriod } })).status).toBe(200);
    // The usage signaller's flush that signals this usage also hands it to the late-event notifier (no draft yet).
    const subscription = sys.client.workflow.getHandle(subscriptionWorkflowId(sub.body.subscription.lago_id));
    await eventually(async () => ((await subscription.query(stateQuery).catch(() => undefined))?.usageSignalsReceived ?? 0) >= 1 || undefined, 30_000, 'the on-time usage signal');

    expect((await r('DELETE', '/subscriptions/initech-1')).status).toBe(200);
    const draft = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=initech');
      const inv = list.body.invoices[0];
      return inv && inv.total_amount_cents === 100 ? inv : undefined;
    }, 30_000, 'the termination invoice (draft, 1 call)');
    expect(draft.status).toBe('draft');
    invoiceIds.push(draft.lago_id);
    const handle = sys.client.workflow.getHandle(invoiceWorkflowId(draft.lago_id));
    const before = await eventually(async () => handle.query(invoiceStateQuery).catch(() => undefined), 30_000, 'the invoice workflow');
    // Refreshes so far are superfluous ones (the draft already counts the on-time call); the late one must add one.
    expect(before).toMatchObject({ status: 'draft' });
    expect(before.graceEndsAt).not.toBeNull();

    // Late: the period [subscription start, termination) is already invoiced (as a draft).
    const late = await r('POST', '/events', { event: { transaction_id: 'late-1', external_subscription_id: 'initech-1', code: 'calls', timestamp: inPeriod } });
    expect(late.status).toBe(200);
    expect(late.body.event.duplicate).toBe(false);

    const refreshed = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=initech');
      const inv = list.body.invoices[0];
      return inv && inv.total_amount_cents === 200 ? inv : undefined;
    }, 30_000, 'the draft to include the late call');
    expect(refreshed).toMatchObject({ lago_id: draft.lago_id, status: 'draft', total_amount_cents: 200 });
    const calls = refreshed.fees.find((f: any) => f.item.code === 'calls');
    expect(calls).toMatchObject({ units: '2', events_count: 2, amount_cents: 200, adjustment: null });
    const after = await handle.query(invoiceStateQuery);
    expect(after.refreshes).toBeGreaterThan(before.refreshes);
    expect(after.status).toBe('draft');
  });
});
