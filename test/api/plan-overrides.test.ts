// Lago's plan_overrides on POST / PUT /subscriptions through the real API, a real worker (plan changes go through the
// subscription workflow), Postgres and the Temporal dev server. The overridden plan is a child plan of the catalog
// plan (api/services/plan-overrides.ts): these tests check what a client sees and what the database holds.
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createBillingWorker } from '../../worker/worker';
import { testWorkflowBundle } from '../support/workflow-bundle';
import { temporalTestAddress } from '../support/services';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let nativeConnection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
let tokensMetricId: string;
let callsMetricId: string;
/** The catalog plan `ovr_basic`'s charges: tokens (0.000002 / token), calls (0.001 / call). */
let tokensChargeId: string;
let callsChargeId: string;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_overrides' });
  nativeConnection = await NativeConnection.connect({ address: temporalTestAddress() });
  worker = await createBillingWorker({ connection: nativeConnection, namespace: 'default', db: h.database.db, taskQueue: h.taskQueue, workflowBundle: await testWorkflowBundle() });
  workerRun = worker.run();
  const tokens = await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'ovr_tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } });
  const calls = await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'ovr_calls', aggregation_type: 'count_agg' } });
  tokensMetricId = tokens.body.billable_metric.lago_id;
  callsMetricId = calls.body.billable_metric.lago_id;
  const basic = await h.request('POST', '/plans', {
    plan: {
      name: 'Basic', code: 'ovr_basic', interval: 'monthly', amount_cents: 10000, amount_currency: 'USD',
      charges: [
        { billable_metric_id: tokensMetricId, charge_model: 'standard', properties: { amount: '0.000002' } },
        { billable_metric_id: callsMetricId, charge_model: 'standard', properties: { amount: '0.001' } },
      ],
    },
  });
  expect(basic.status).toBe(200);
  [tokensChargeId, callsChargeId] = basic.body.plan.charges.map((c: any) => c.lago_id);
  expect((await h.request('POST', '/plans', { plan: { name: 'Pro', code: 'ovr_pro', interval: 'monthly', amount_cents: 20000, amount_currency: 'USD' } })).status).toBe(200);
  expect((await h.request('POST', '/customers', { customer: { external_id: 'ovr-cus', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
});
afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await nativeConnection?.close();
  await h?.stop();
});

const subscribe = (externalId: string, planCode: string, extra: Record<string, unknown> = {}) =>
  h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'ovr-cus', plan_code: planCode, external_id: externalId, billing_time: 'anniversary', ...extra } });

async function planOf(externalId: string) {
  const s = await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: externalId }).first('id', 'plan_id');
  const plan = await h.database.db('plans').where({ id: s.plan_id }).first();
  const charges = await h.database.db('charges').where({ plan_id: s.plan_id }).orderBy('position');
  return { subscriptionId: s.id as string, plan, charges };
}

async function childPlanCount(): Promise<number> {
  const [{ n }] = await h.database.db('plans').where({ organization_id: h.org.id }).whereNotNull('parent_id').count('* as n');
  return Number(n);
}

test('POST /subscriptions with plan_overrides gives the subscription its own copy of the plan; plan_code stays the catalog code and GET /plans shows only the catalog plan', async () => {
  const res = await subscribe('ovr-a', 'ovr_basic', {
    plan_overrides: { amount_cents: 15000, name: 'Basic for Acme', charges: [{ id: tokensChargeId, properties: { amount: '0.000005' }, min_amount_cents: 300 }] },
  });
  expect(res.status).toBe(200);
  expect(res.body.subscription).toMatchObject({ external_id: 'ovr-a', plan_code: 'ovr_basic', plan_amount_cents: 15000, plan_amount_currency: 'USD', status: 'active' });

  const { plan, charges } = await planOf('ovr-a');
  const catalog = await h.database.db('plans').where({ organization_id: h.org.id, code: 'ovr_basic' }).whereNull('parent_id').first();
  expect(plan.parent_id).toBe(catalog.id);
  expect(plan).toMatchObject({ code: 'ovr_basic', name: 'Basic for Acme', amount_cents: 15000 });
  expect(charges.map((c: any) => [c.parent_id, c.properties, Number(c.min_amount_cents)])).toEqual([
    [tokensChargeId, { amount: '0.000005' }, 300],
    [callsChargeId, { amount: '0.001' }, 0],
  ]);

  const list = await h.request('GET', '/plans?per_page=100');
  expect(list.body.plans.filter((p: any) => p.code === 'ovr_basic').map((p: any) => p.lago_id)).toEqual([catalog.id]);
  const shown = await h.request('GET', '/plans/ovr_basic');
  expect(shown.body.plan).toMatchObject({ lago_id: catalog.id, name: 'Basic', amount_cents: 10000 });
  expect(shown.body.plan.charges[0].properties).toEqual({ amount: '0.000002' });
  // Listing subscriptions by the catalog code finds the overridden one.
  const byCode = await h.request('GET', '/subscriptions?plan_code=ovr_basic&external_customer_id=ovr-cus');
  expect(byCode.body.subscriptions.map((s: any) => s.external_id)).toContain('ovr-a');
});

test("current usage prices the overridden charge: 1,000,000 tokens at the override's 0.000005 = 500 cents, calls at the catalog's 0.001", async () => {
  expect((await subscribe('ovr-usage', 'ovr_basic', { plan_overrides: { charges: [{ id: tokensChargeId, properties: { amount: '0.000005' } }] } })).status).toBe(200);
  const ts = Math.floor(Date.now() / 1000);
  const events = [
    { transaction_id: 'ovr-u-1', external_subscription_id: 'ovr-usage', code: 'ovr_tokens', timestamp: ts, properties: { tokens: 600_000 } },
    { transaction_id: 'ovr-u-2', external_subscription_id: 'ovr-usage', code: 'ovr_tokens', timestamp: ts, properties: { tokens: 400_000 } },
    ...Array.from({ length: 7 }, (_, i) => ({ transaction_id: `ovr-c-${i}`, external_subscription_id: 'ovr-usage', code: 'ovr_calls', timestamp: ts, properties: {} })),
  ];
  expect((await h.request('POST', '/events/batch', { events })).status).toBe(200);
  let usage: any;
  for (let i = 0; i < 100; i++) {
    usage = (await h.request('GET', '/customers/ovr-cus/current_usage?external_subscription_id=ovr-usage')).body.customer_usage;
    if (usage?.charges_usage?.reduce((n: number, c: any) => n + c.events_count, 0) === 9) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const byMetric = Object.fromEntries(usage.charges_usage.map((c: any) => [c.billable_metric.code, c.amount_cents]));
  // 1,000,000 × 0.000005 USD = 5.00 USD = 500 cents; 7 × 0.001 USD = 0.7 cents → 1 cent (half-up on the line).
  expect(byMetric).toEqual({ ovr_tokens: 500, ovr_calls: 1 });
  expect(usage.amount_cents).toBe(501);
});

test('an unknown charge id is a 422 naming plan_overrides.charges[0].id, and nothing is written', async () => {
  const res = await subscribe('ovr-bad', 'ovr_basic', { plan_overrides: { charges: [{ id: '00000000-0000-4000-8000-000000000000', properties: { amount: '1' } }] } });
  expect(res.status).toBe(422);
  expect(res.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { 'plan_overrides.charges[0].id': ['value_is_invalid'] } });
  expect(await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: 'ovr-bad' }).first()).toBeUndefined();
});

test("another currency than the plan's, invalid charge properties, and another billable metric are 422s on the override's fields, nothing written", async () => {
  const currency = await subscribe('ovr-bad2', 'ovr_basic', { plan_overrides: { amount_currency: 'EUR' } });
  expect(currency.status).toBe(422);
  expect(currency.body.error_details).toEqual({ 'plan_overrides.amount_currency': ['currencies_does_not_match'] });
  const props = await subscribe('ovr-bad2', 'ovr_basic', { plan_overrides: { charges: [{ id: callsChargeId, properties: { amount: 'abc' } }] } });
  expect(props.status).toBe(422);
  expect(Object.keys(props.body.error_details).every((f) => f.startsWith('plan_overrides.charges[0].properties'))).toBe(true);
  const metric = await subscribe('ovr-bad2', 'ovr_basic', { plan_overrides: { charges: [{ id: callsChargeId, billable_metric_id: tokensMetricId }] } });
  expect(metric.status).toBe(422);
  expect(metric.body.error_details).toEqual({ 'plan_overrides.charges[0].billable_metric_id': ['value_is_invalid'] });
  const amount = await subscribe('ovr-bad2', 'ovr_basic', { plan_overrides: { amount_cents: -1 } });
  expect(amount.status).toBe(422);
  expect(amount.body.error_details).toHaveProperty(['plan_overrides.amount_cents']);
  expect(await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: 'ovr-bad2' }).first()).toBeUndefined();
  expect(await childPlanCount()).toBe(2); // ovr-a's and ovr-usage's only
});

test('PUT /subscriptions with plan_overrides overrides a plain subscription, and a second override edits the same child plan keeping the first overrides', async () => {
  expect((await subscribe('ovr-put', 'ovr_basic')).status).toBe(200);
  const first = await h.request('PUT', '/subscriptions/ovr-put', { subscription: { plan_overrides: { amount_cents: 12000 } } });
  expect(first.status).toBe(200);
  expect(first.body.subscription).toMatchObject({ plan_code: 'ovr_basic', plan_amount_cents: 12000 });
  const child = await planOf('ovr-put');
  expect(child.plan.parent_id).not.toBeNull();

  // The child's own charge id names the charge too.
  const childrenBefore = await childPlanCount();
  const second = await h.request('PUT', '/subscriptions/ovr-put', { subscription: { plan_overrides: { charges: [{ id: child.charges[1].id, properties: { amount: '0.002' } }] } } });
  expect(second.status).toBe(200);
  const after = await planOf('ovr-put');
  expect(after.plan.id).toBe(child.plan.id);
  expect(Number(after.plan.amount_cents)).toBe(12000);
  expect(after.charges.map((c: any) => c.id)).toEqual(child.charges.map((c: any) => c.id));
  expect(after.charges.map((c: any) => c.properties)).toEqual([{ amount: '0.000002' }, { amount: '0.002' }]);
  expect(await childPlanCount()).toBe(childrenBefore);

  // A retried POST of the same plan is the same subscription on the same child plan, not a plan change.
  const again = await subscribe('ovr-put', 'ovr_basic');
  expect(again.status).toBe(200);
  expect(again.body.subscription).toMatchObject({ plan_code: 'ovr_basic', plan_amount_cents: 12000, next_plan_code: null, previous_plan_code: null });
  expect((await planOf('ovr-put')).plan.id).toBe(child.plan.id);
});

test('PUT /plans/:code with cascade_updates reaches the children for the fields they do not override; without it they keep theirs', async () => {
  await h.request('POST', '/plans', {
    plan: { name: 'Team', code: 'ovr_team', interval: 'monthly', amount_cents: 5000, amount_currency: 'USD', charges: [{ billable_metric_id: callsMetricId, charge_model: 'standard', properties: { amount: '0.01' } }] },
  });
  const team = (await h.request('GET', '/plans/ovr_team')).body.plan;
  expect((await subscribe('ovr-cascade', 'ovr_team', { plan_overrides: { amount_cents: 4000 } })).status).toBe(200);

  const quiet = await h.request('PUT', '/plans/ovr_team', { plan: { name: 'Team 2', charges: [{ id: team.charges[0].lago_id, billable_metric_id: callsMetricId, charge_model: 'standard', properties: { amount: '0.02' } }] } });
  expect(quiet.status).toBe(200);
  let child = await planOf('ovr-cascade');
  expect([child.plan.name, Number(child.plan.amount_cents), child.charges[0].properties]).toEqual(['Team', 4000, { amount: '0.01' }]);

  const cascaded = await h.request('PUT', '/plans/ovr_team', { plan: { amount_cents: 6000, cascade_updates: true } });
  expect(cascaded.status).toBe(200);
  child = await planOf('ovr-cascade');
  // Name and charge price follow the parent; the overridden amount stays.
  expect([child.plan.name, Number(child.plan.amount_cents), child.charges[0].properties, child.charges[0].parent_id]).toEqual(['Team 2', 4000, { amount: '0.02' }, team.charges[0].lago_id]);
  // The nested charge routes cascade the same way: a new charge reaches the child, with its parent link.
  const added = await h.request('POST', '/plans/ovr_team/charges', { charge: { billable_metric_id: tokensMetricId, charge_model: 'standard', properties: { amount: '0.1' }, cascade_updates: true } });
  expect(added.status).toBe(200);
  child = await planOf('ovr-cascade');
  expect(child.charges.map((c: any) => [c.parent_id, c.properties])).toEqual([
    [team.charges[0].lago_id, { amount: '0.02' }],
    [added.body.charge.lago_id, { amount: '0.1' }],
  ]);
  expect(Number(child.plan.amount_cents)).toBe(4000);
  // The catalog plan's interval cannot change while the overridden subscription lives.
  const interval = await h.request('PUT', '/plans/ovr_team', { plan: { interval: 'yearly' } });
  expect(interval.status).toBe(422);
  expect(interval.body.error_details).toEqual({ interval: ['plan_has_subscriptions'] });
});

test('a plan change compares the overridden amount: Basic overridden to 300 USD → Pro (200 USD) is a downgrade at the period end', async () => {
  expect((await subscribe('ovr-change', 'ovr_basic', { plan_overrides: { amount_cents: 30000 } })).status).toBe(200);
  const down = await subscribe('ovr-change', 'ovr_pro');
  expect(down.status).toBe(200);
  expect(down.body.subscription).toMatchObject({ plan_code: 'ovr_basic', plan_amount_cents: 30000, next_plan_code: 'ovr_pro' });

  // Without the override, Basic (100 USD) → Pro is an upgrade: at once.
  // (Backdated: an upgrade must come after the open period's start.)
  expect((await subscribe('ovr-plain', 'ovr_basic', { subscription_at: new Date(Date.now() - 5 * 86_400_000).toISOString() })).status).toBe(200);
  const up = await subscribe('ovr-plain', 'ovr_pro');
  expect(up.body).toMatchObject({ subscription: { plan_code: 'ovr_pro', previous_plan_code: 'ovr_basic' } });

  // Overrides together with a plan change apply to the new plan (adv11b, api/services/plan-change-overrides.ts): Pro
  // overridden to 1 USD is still a downgrade of the overridden Basic; the catalog Pro keeps its 200 USD.
  const both = await subscribe('ovr-change', 'ovr_pro', { plan_overrides: { amount_cents: 100 } });
  expect(both.status).toBe(200);
  expect(both.body.subscription).toMatchObject({ plan_code: 'ovr_basic', plan_amount_cents: 30000, next_plan_code: 'ovr_pro' });
  expect((await h.request('GET', '/plans/ovr_pro')).body.plan).toMatchObject({ amount_cents: 20000 });
});
