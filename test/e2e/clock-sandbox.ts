// The catalog the test-clock e2e files bill: metric `calls` (count), plan `sandbox` (10.00 USD a month + 0.01 a call,
// in arrears) and a UTC customer with a 2-day invoice grace period.
import type { System } from './harness';

export async function createClockSandbox(sys: System, externalCustomerId: string): Promise<void> {
  const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Sandbox', code: 'sandbox', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false,
    charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.01' } }],
  } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: externalCustomerId, currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 2 } } })).status).toBe(200);
}
