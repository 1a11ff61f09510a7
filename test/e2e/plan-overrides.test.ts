// A subscription with plan_overrides billed end to end at its period end: the real HTTP API, worker, Postgres and
// Temporal's time-skipping test server (as test/e2e/billing-period.test.ts). The overridden subscription fee and the
// overridden charge price are on the invoice, checked against hand-computed cents; a subscription of the same plan
// without overrides, with the same usage, is billed the catalog prices in the same close.
import { msToTs } from '@temporalio/common/lib/time';
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(180_000);

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

describe('plan_overrides priced at the period close (time-skipping Temporal server)', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('time-skipping'); });
  afterAll(async () => { await sys?.stop(); });

  it("bills the overridden fee (35.00 USD) and token price (0.000005) to the cent, and the plain subscription the catalog's", async () => {
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
    const tokensCharge = plan.body.plan.charges.find((c: any) => c.billable_metric_code === 'tokens').lago_id;
    for (const id of ['big', 'small']) {
      expect((await r('POST', '/customers', { customer: { external_id: id, name: id, currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
    }
    const overridden = await r('POST', '/subscriptions', { subscription: {
      external_customer_id: 'big', plan_code: 'ai_pro', external_id: 'big-main', billing_time: 'anniversary',
      plan_overrides: { amount_cents: 3500, charges: [{ id: tokensCharge, properties: { amount: '0.000005' } }] },
    } });
    expect(overridden.status).toBe(200);
    expect(overridden.body.subscription).toMatchObject({ plan_code: 'ai_pro', plan_amount_cents: 3500 });
    const plain = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'small', plan_code: 'ai_pro', external_id: 'small-main', billing_time: 'anniversary' } });
    expect(plain.status).toBe(200);

    const periodStart = Math.max(Date.parse(overridden.body.subscription.subscription_at), Date.parse(plain.body.subscription.subscription_at));
    const ts = Math.floor(periodStart / 1000) + 60;
    for (const sub of ['big-main', 'small-main']) {
      const events: unknown[] = [100_000_000, 23_000_000, 456_789].map((tokens, i) => ({
        transaction_id: `${sub}-tok-${i}`, external_subscription_id: sub, code: 'tokens', timestamp: ts, properties: { tokens },
      }));
      for (let i = 0; i < 235; i++) events.push({ transaction_id: `${sub}-call-${i}`, external_subscription_id: sub, code: 'api_calls', timestamp: ts + 1, properties: {} });
      for (let i = 0; i < events.length; i += 100) expect((await r('POST', '/events/batch', { events: events.slice(i, i + 100) })).status).toBe(200);
    }

    const stopSkipping = skipTime(sys, 32 * 24 * 3600 * 1000);
    const finalized = async (customer: string) => {
      const list = await r('GET', `/invoices?external_customer_id=${customer}`);
      return list.body.invoices.find((i: any) => i.status === 'finalized');
    };
    const big = await eventually(() => finalized('big'), 90_000, "the overridden subscription's invoice");
    const small = await eventually(() => finalized('small'), 90_000, "the plain subscription's invoice");
    await stopSkipping();

    const cents = (inv: any) => Object.fromEntries(inv.fees.map((f: any) => [f.item.code, f.amount_cents]));
    // Overridden: fee 3500; 123,456,789 tokens × 0.000005 USD = 617.283945 USD = 61728.3945 cents → 61728;
    // 235 calls × 0.001 USD = 0.235 USD = 23.5 cents → 24 (half-up, once per line).
    expect(cents(big)).toEqual({ ai_pro: 3500, tokens: 61728, api_calls: 24 });
    expect(big.total_amount_cents).toBe(3500 + 61728 + 24);
    // Catalog prices: fee 2000; 123,456,789 × 0.000002 USD = 246.913578 USD → 24691 cents; calls 24.
    expect(cents(small)).toEqual({ ai_pro: 2000, tokens: 24691, api_calls: 24 });
    expect(small.total_amount_cents).toBe(2000 + 24691 + 24);
  });
});
