// DELETE /subscriptions/:id retried after an API crash gets the first call's result, not 422 termination_in_progress.
import { terminationUpdateId } from '../../api/routes/subscriptions';
import { subscriptionWorkflowId, terminateUpdate } from '../../workflows/messages';
import { startSystem, type System } from './harness';

jest.setTimeout(180_000);

let sys: System;
beforeAll(async () => {
  sys = await startSystem('dev-server');
  const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
  await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } });
  await r('POST', '/plans', { plan: {
    name: 'Usage', code: 'usage', interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
    charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.01' } }],
  } });
  await r('POST', '/customers', { customer: { external_id: 'idem', currency: 'USD' } });
});
afterAll(async () => {
  await sys?.stop();
});

async function subscribe(externalId: string): Promise<string> {
  const res = await sys.request('POST', '/subscriptions', { subscription: { external_customer_id: 'idem', plan_code: 'usage', external_id: externalId } });
  expect(res.status).toBe(200);
  return res.body.subscription.lago_id;
}

describe('idempotent termination', () => {
  it('a DELETE retried while the first is still terminating gets the same 200 result', async () => {
    await subscribe('idem-concurrent');
    const [a, b] = await Promise.all([sys.request('DELETE', '/subscriptions/idem-concurrent'), sys.request('DELETE', '/subscriptions/idem-concurrent')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.subscription.terminated_at).toBe(a.body.subscription.terminated_at);
    expect(await sys.database.db('invoices').where({ invoice_type: 'termination' })
      .whereIn('subscription_id', sys.database.db('subscriptions').where({ external_id: 'idem-concurrent' }).select('id'))).toHaveLength(1);
  });

  it('a DELETE retried after the API died between the termination and recording it gets the first result', async () => {
    const id = await subscribe('idem-crashed');
    // What the first (crashed) API process did: the update ran to completion, the subscription row was never marked.
    const first = await sys.client.workflow
      .getHandle(subscriptionWorkflowId(id))
      .executeUpdate(terminateUpdate, { args: [{}], updateId: terminationUpdateId(id) });
    await sys.client.workflow.getHandle(subscriptionWorkflowId(id)).result();
    const retry = await sys.request('DELETE', '/subscriptions/idem-crashed');
    expect(retry.status).toBe(200);
    expect(retry.body.subscription).toMatchObject({ status: 'terminated', terminated_at: first.terminatedAt });
  });
});
