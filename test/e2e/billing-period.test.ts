// A user's path from signup to invoice through the real HTTP API, worker, Postgres and a Temporal server.
// Time passes on Temporal's time-skipping test server: `env.sleep` moves the server clock past the period end
// and the workflow's own timer closes the period.
import { msToTs } from '@temporalio/common/lib/time';
import { startSystem, eventually, type System } from './harness';
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';

jest.setTimeout(180_000);

/** Starts moving the test server's clock forward by `ms`; the returned function cancels the call. */
function skipTime(sys: System, ms: number): () => Promise<void> {
  const connection = sys.env!.connection;
  const testService = connection.testService;
  if (!testService) throw new Error('the time-skipping server has no test service');
  const abort = new AbortController();
  const call = connection
    .withAbortSignal(abort.signal, () => testService.unlockTimeSkippingWithSleep({ duration: msToTs(ms) }))
    .catch(() => undefined);
  return async () => {
    abort.abort();
    await call;
  };
}

describe('a subscription billed end to end at its period end (time-skipping Temporal server)', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('time-skipping'); });
  afterAll(async () => { await sys?.stop(); });

  it('closes the period on its timer and bills fee + per-token + per-call charges exactly to the cent', async () => {
    const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
    expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } })).status).toBe(200);
    expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'API calls', code: 'api_calls', aggregation_type: 'count_agg' } })).status).toBe(200);
    const plan = await r('POST', '/plans', { plan: {
      name: 'AI Pro', code: 'ai_pro', interval: 'monthly', amount_cents: 2000, amount_currency: 'USD', pay_in_advance: false,
      charges: [
        { billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: '0.000002' } },
        { billable_metric_code: 'api_calls', charge_model: 'standard', properties: { amount: '0.001' } },
      ],
    } });
    expect(plan.status).toBe(200);
    expect((await r('POST', '/customers', { customer: { external_id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
    const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'acme', plan_code: 'ai_pro', external_id: 'acme-main', billing_time: 'anniversary' } });
    expect(sub.status).toBe(200);
    const subscriptionId: string = sub.body.subscription.lago_id;
    const periodStart = new Date(sub.body.subscription.subscription_at).getTime();

    // 123,456,789 tokens in three events, and 1,235 API calls: 0.000002 × 123,456,789 = 246.913578 USD → 24691
    // cents; 0.001 × 1,235 = 1.235 USD → 123.5 cents, rounded half-up once on its line → 124 cents.
    const ts = Math.floor(periodStart / 1000) + 60;
    const tokenEvents = [100_000_000, 23_000_000, 456_789].map((tokens, i) => ({
      transaction_id: `tok-${i}`, external_subscription_id: 'acme-main', code: 'tokens', timestamp: ts, properties: { tokens },
    }));
    expect((await r('POST', '/events/batch', { events: tokenEvents })).status).toBe(200);
    for (let batch = 0; batch * 100 < 1235; batch++) {
      const events = [];
      for (let i = batch * 100; i < Math.min(1235, (batch + 1) * 100); i++) {
        events.push({ transaction_id: `call-${i}`, external_subscription_id: 'acme-main', code: 'api_calls', timestamp: ts + 1, properties: {} });
      }
      expect((await r('POST', '/events/batch', { events })).status).toBe(200);
    }

    // Nothing is billed before the period ends.
    expect((await r('GET', '/invoices?external_customer_id=acme')).body.invoices).toHaveLength(0);

    // Skip the server's clock past the period end. Not awaited: once the workflow has started the invoice
    // child and continued as new, the test server stops skipping (see test/support/time-skipping.ts), so this
    // sleep would not return; the invoice appearing over HTTP is what the test waits for, then the sleep call
    // is cancelled.
    const stopSkipping = skipTime(sys, 32 * 24 * 3600 * 1000);

    const invoice = await eventually(async () => {
      const list = await r('GET', '/invoices?external_customer_id=acme');
      const inv = list.body.invoices.find((i: any) => i.status === 'finalized');
      return inv;
    }, 60_000, 'the period invoice to be finalized');

    const byCode = Object.fromEntries(invoice.fees.map((f: any) => [f.item.code, f]));
    expect(invoice.invoice_type).toBe('subscription');
    expect(invoice.currency).toBe('USD');
    expect(byCode.ai_pro.amount_cents).toBe(2000);
    expect(byCode.tokens.amount_cents).toBe(24691);
    expect(Number(byCode.tokens.units)).toBe(123_456_789);
    expect(byCode.api_calls.amount_cents).toBe(124);
    expect(Number(byCode.api_calls.units)).toBe(1235);
    expect(invoice.fees_amount_cents).toBe(2000 + 24691 + 124);
    expect(invoice.total_amount_cents).toBe(26815);
    expect(invoice.number).toBeTruthy();

    await stopSkipping();

    const fetched = await r('GET', `/invoices/${invoice.lago_id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.invoice.total_amount_cents).toBe(26815);

    // The workflow continued as new into the next period, which starts where the billed one ended. Since the close
    // finalizes in its own transaction (close14-fold-v1), the invoice is finalized before the workflow has handled the
    // close's result: its state is read once it has.
    const state = await eventually(async () => {
      const s = await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).query(stateQuery);
      return s.closedPeriods >= 1 ? s : undefined;
    }, 60_000, 'the workflow past its first close');
    expect(state.closedPeriods).toBe(1);
    expect(state.status).toBe('active');
    expect(Date.parse(state.currentPeriod!.period.start)).toBeGreaterThan(periodStart);
  });
});
