import { SEARCH_ATTRIBUTE_KEYS, subscriptionWorkflowId } from '../../workflows/messages';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_subs' });
});
afterAll(async () => {
  await h?.stop();
});

describe('customers', () => {
  test('create-or-update by external_id keeps one row and updates the given fields', async () => {
    const a = await h.request('POST', '/customers', {
      customer: { external_id: 'c1', name: 'Ada', currency: 'EUR', timezone: 'Europe/Paris', country: 'FR', billing_configuration: { invoice_grace_period: 3 } },
    });
    expect(a.status).toBe(200);
    expect(a.body.customer).toMatchObject({ external_id: 'c1', name: 'Ada', currency: 'EUR', timezone: 'Europe/Paris', applicable_timezone: 'Europe/Paris' });
    expect(a.body.customer.billing_configuration.invoice_grace_period).toBe(3);
    const b = await h.request('POST', '/customers', { customer: { external_id: 'c1', email: 'ada@example.com' } });
    expect(b.body.customer).toMatchObject({ lago_id: a.body.customer.lago_id, name: 'Ada', email: 'ada@example.com', currency: 'EUR' });
    expect(await h.database.db('customers').where({ external_id: 'c1' }).count('* as n')).toEqual([{ n: 1 }]);
    const got = await h.request('GET', '/customers/c1');
    expect(got.body.customer.email).toBe('ada@example.com');
  });

  test('an invalid IANA timezone and a missing external_id are 422 with their fields', async () => {
    const res = await h.request('POST', '/customers', { customer: { timezone: 'Europe/Atlantis' } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ external_id: ['value_is_mandatory'], timezone: ['invalid_timezone'] });
  });
});

describe('subscriptions', () => {
  test('creating the same subscription twice answers the same row and starts ONE workflow', async () => {
    const seeded = await seedSubscription(h, { suffix: 'twice' });
    const again = await h.request('POST', '/subscriptions', {
      subscription: { external_customer_id: seeded.customerId, plan_code: seeded.planCode, external_id: seeded.subscriptionId, billing_time: 'calendar' },
    });
    expect(again.status).toBe(200);
    expect(again.body.subscription).toMatchObject({
      lago_id: seeded.lagoSubscriptionId,
      external_id: seeded.subscriptionId,
      external_customer_id: seeded.customerId,
      plan_code: seeded.planCode,
      status: 'active',
      billing_time: 'calendar',
    });
    expect(again.body.subscription.current_billing_period_started_at).toEqual(expect.any(String));

    const handle = h.client.workflow.getHandle(subscriptionWorkflowId(seeded.lagoSubscriptionId));
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.taskQueue).toBe(h.taskQueue);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.SubscriptionId)).toBe(seeded.subscriptionId);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.CustomerId)).toBe(seeded.customerId);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.PlanCode)).toBe(seeded.planCode);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.SubscriptionStatus)).toBe('active');

    // Visibility is eventually consistent: poll until the list shows the run, then assert there is one.
    let runs: string[] = [];
    for (let i = 0; i < 50; i++) {
      runs = [];
      for await (const wf of h.client.workflow.list({ query: `SubscriptionId = '${seeded.subscriptionId}' AND TaskQueue = '${h.taskQueue}'` })) runs.push(wf.runId);
      if (runs.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs).toEqual([description.runId]);
    const rows = await h.database.db('subscriptions').where({ external_id: seeded.subscriptionId });
    expect(rows).toHaveLength(1);
  });

  test('a retry heals a subscription whose workflow start failed after the row was written', async () => {
    const seeded = await seedSubscription(h, { suffix: 'heal' });
    const handle = h.client.workflow.getHandle(subscriptionWorkflowId(seeded.lagoSubscriptionId));
    await handle.terminate('test: replaced by a row whose start never happened');
    const uuid = '00000000-0000-4000-8000-000000000001';
    await h.database.db.transaction(async (trx) => {
      // Re-key the row to a fresh id (a workflow id that never ran) to model "row written, start never happened".
      await trx('subscriptions').where({ id: seeded.lagoSubscriptionId }).update({ id: uuid, workflow_id: subscriptionWorkflowId(uuid) });
    });
    const retry = await h.request('POST', '/subscriptions', {
      subscription: { external_customer_id: seeded.customerId, plan_code: seeded.planCode, external_id: seeded.subscriptionId },
    });
    expect(retry.status).toBe(200);
    expect(retry.body.subscription.lago_id).toBe(uuid);
    const d = await h.client.workflow.getHandle(subscriptionWorkflowId(uuid)).describe();
    expect(d.status.name).toBe('RUNNING');
  });

  // Another plan for the same external_id is a plan change now (test/api/plan-changes.test.ts); another customer is refused.
  test('the same external_id for another customer is 422; unknown customer/plan are 404', async () => {
    const seeded = await seedSubscription(h, { suffix: 'conflict' });
    const other = await seedSubscription(h, { suffix: 'other' });
    const res = await h.request('POST', '/subscriptions', {
      subscription: { external_customer_id: other.customerId, plan_code: seeded.planCode, external_id: seeded.subscriptionId },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ external_id: ['value_already_exist'] });
    const noCustomer = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'ghost', plan_code: seeded.planCode, external_id: 'x1' } });
    expect(noCustomer.body).toEqual({ status: 404, error: 'Not Found', code: 'customer_not_found' });
    const noPlan = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: seeded.customerId, plan_code: 'ghost', external_id: 'x2' } });
    expect(noPlan.body).toEqual({ status: 404, error: 'Not Found', code: 'plan_not_found' });
    const bad = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: seeded.customerId, plan_code: seeded.planCode, external_id: 'x3', billing_time: 'weekly', subscription_at: 'yesterday' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error_details).toEqual({ billing_time: ['value_is_invalid'], subscription_at: ['invalid_format'] });
  });

  test('list by external_customer_id returns that customer\'s subscriptions', async () => {
    const seeded = await seedSubscription(h, { suffix: 'list' });
    const res = await h.request('GET', `/subscriptions?external_customer_id=${seeded.customerId}`);
    expect(res.status).toBe(200);
    expect(res.body.subscriptions.map((s: any) => s.external_id)).toEqual([seeded.subscriptionId]);
    expect(res.body.meta.total_count).toBe(1);
  });
});
