// Real API + worker + Postgres + the Temporal dev server, in real time: a burst of usage is coalesced into few
// signals whose live total matches Postgres, and terminating mid-period invoices the usage so far.
import { startSystem, eventually, type System } from './harness';
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';

jest.setTimeout(180_000);

describe('termination and a usage burst end to end (Temporal dev server)', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('dev-server'); });
  afterAll(async () => { await sys?.stop(); });

  it('coalesces 10,000 events into a bounded number of signals, then bills the usage so far on termination', async () => {
    const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
    await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } });
    expect((await r('POST', '/plans', { plan: {
      name: 'Usage only', code: 'usage_only', interval: 'monthly', amount_cents: 0, amount_currency: 'USD', pay_in_advance: false,
      charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.0005' } }],
    } })).status).toBe(200);
    await r('POST', '/customers', { customer: { external_id: 'globex', currency: 'USD', timezone: 'America/New_York' } });
    const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'globex', plan_code: 'usage_only', external_id: 'globex-1' } });
    expect(sub.status).toBe(200);
    const handle = sys.client.workflow.getHandle(subscriptionWorkflowId(sub.body.subscription.lago_id));

    const now = Math.floor(Date.now() / 1000);
    const started = Date.now();
    const batches = Array.from({ length: 100 }, (_, b) => ({
      events: Array.from({ length: 100 }, (_, i) => ({
        transaction_id: `burst-${b * 100 + i}`, external_subscription_id: 'globex-1', code: 'calls', timestamp: now, properties: {},
      })),
    }));
    for (let i = 0; i < batches.length; i += 10) {
      const results = await Promise.all(batches.slice(i, i + 10).map((b) => r('POST', '/events/batch', b)));
      for (const res of results) expect(res.status).toBe(200);
    }
    const held = await sys.database.db('events').where({ external_subscription_id: 'globex-1' }).count<{ count: number }[]>('* as count');
    expect(Number(held[0].count)).toBe(10_000);

    const state = await eventually(async () => {
      const s = await handle.query(stateQuery);
      return s.liveUsage.calls?.eventsCount === 10_000 ? s : undefined;
    }, 30_000, 'the live total to reach 10,000');
    const elapsedSeconds = (Date.now() - started) / 1000;
    // At most one signal per subscription per second from this API process, plus the final flush.
    expect(state.usageSignalsReceived).toBeGreaterThan(0);
    expect(state.usageSignalsReceived).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 2);

    // A replayed event is a duplicate: acknowledged, flagged, counted once.
    const dup = await r('POST', '/events', { event: batches[0].events[0] });
    expect(dup.status).toBe(200);
    expect(dup.body.event.duplicate).toBe(true);

    const terminated = await r('DELETE', '/subscriptions/globex-1');
    expect(terminated.status).toBe(200);
    expect(terminated.body.subscription.status).toBe('terminated');

    const invoice = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=globex');
      return list.body.invoices[0];
    }, 30_000, 'the termination invoice');
    expect(invoice.invoice_type).toBe('subscription'); // Lago's type for termination invoices too
    const calls = invoice.fees.find((f: any) => f.item.code === 'calls');
    expect(Number(calls.units)).toBe(10_000);
    expect(calls.amount_cents).toBe(500); // 10,000 × 0.0005 USD = 5.00 USD
    expect(invoice.total_amount_cents).toBe(500);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });
});
