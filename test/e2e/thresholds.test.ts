// Usage thresholds end to end: real API, worker (real activities), Postgres and the Temporal dev server, in real
// time. A plan with usage_thresholds [{amount_cents: 1000}] and events worth 11.00 USD: the subscription
// workflow's check confirms the amount from Postgres and a progressive_billing invoice appears over GET
// /invoices (the workflow's state names it); an amount alert created over the API is triggered once.
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(180_000);

describe('progressive billing and usage alerts end to end (Temporal dev server)', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('dev-server'); });
  afterAll(async () => { await sys?.stop(); });

  it('events worth 11.00 USD against a 10.00 USD threshold issue one progressive_billing invoice from the workflow check and trigger the 5.00 USD alert once', async () => {
    const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
    expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } })).status).toBe(200);
    const plan = await r('POST', '/plans', { plan: {
      name: 'Metered', code: 'metered', interval: 'monthly', amount_cents: 2000, amount_currency: 'USD', pay_in_advance: false,
      usage_thresholds: [{ amount_cents: 1000, threshold_display_name: 'First 10 USD' }],
      charges: [{ billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '0.01' } }],
    } });
    expect(plan.status).toBe(200);
    expect((await r('POST', '/customers', { customer: { external_id: 'initech', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
    const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'initech', plan_code: 'metered', external_id: 'initech-1' } });
    expect(sub.status).toBe(200);

    const alert = await r('POST', '/subscriptions/initech-1/alerts', { alert: {
      alert_type: 'current_usage_amount', code: 'spend', name: 'Spend', thresholds: [{ code: 'warn', value: 500 }],
    } });
    expect(alert.status).toBe(200);
    expect(alert.body.alert).toMatchObject({ alert_type: 'current_usage_amount', code: 'spend', external_subscription_id: 'initech-1', thresholds: [{ code: 'warn', value: '500', recurring: false }] });
    expect((await r('GET', '/subscriptions/initech-1/alerts')).body.alerts.map((a: any) => a.code)).toEqual(['spend']);
    const dup = await r('POST', '/subscriptions/initech-1/alerts', { alert: { alert_type: 'current_usage_amount', code: 'spend', thresholds: [{ value: 1 }] } });
    expect(dup.status).toBe(422);

    // 600 + 500 tokens at 1 cent = 1100 cents.
    const ts = Math.floor(Date.now() / 1000);
    const events = [600, 500].map((tokens, i) => ({ transaction_id: `thr-${i}`, external_subscription_id: 'initech-1', code: 'tokens', timestamp: ts, properties: { tokens } }));
    expect((await r('POST', '/events/batch', { events })).status).toBe(200);

    const progressive = await eventually(async () => {
      const list = await r('GET', '/invoices?external_subscription_id=initech-1');
      return list.body.invoices.find((i: any) => i.invoice_type === 'progressive_billing');
    }, 30_000, 'a progressive_billing invoice');
    // Issued by the subscription workflow's usage check (not by another path): its state names the invoice and
    // the amount it confirmed from Postgres.
    const subscriptionId = sub.body.subscription.lago_id as string;
    const checks = await eventually(async () => {
      const state = await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).query(stateQuery);
      return state.usageChecks?.progressiveInvoiceIds.includes(progressive.lago_id) ? state.usageChecks : undefined;
    }, 30_000, 'the workflow to record the progressive invoice');
    expect(checks.confirmedAmountCents).toBe(1100);
    expect(checks.checks).toBeGreaterThanOrEqual(1);
    expect(progressive).toMatchObject({ currency: 'USD', fees_amount_cents: 1100, total_amount_cents: 1100 });
    expect(progressive.fees.map((f: any) => [f.item.type, f.item.code, f.units, f.amount_cents])).toEqual([['charge', 'tokens', '1100', 1100]]);

    // Issued at once: no grace period, finalized by its own invoice workflow.
    await eventually(async () => {
      const inv = await r('GET', `/invoices/${progressive.lago_id}`);
      return inv.body.invoice.status === 'finalized' ? true : undefined;
    }, 30_000, 'the progressive invoice to be finalized');

    const triggered = await eventually(async () => {
      const list = await r('GET', '/subscriptions/initech-1/alerts/triggered');
      return list.body.triggered_alerts.length > 0 ? list.body.triggered_alerts : undefined;
    }, 30_000, 'the alert trigger');
    expect(triggered).toHaveLength(1);
    expect(triggered[0]).toMatchObject({ alert_code: 'spend', threshold_value: '500', current_value: '1100', webhook_status: 'pending', external_customer_id: 'initech' });

    // Still one progressive invoice after more checks could have run.
    const all = (await r('GET', '/invoices?external_subscription_id=initech-1')).body.invoices;
    expect(all.filter((i: any) => i.invoice_type === 'progressive_billing')).toHaveLength(1);
  });
});
