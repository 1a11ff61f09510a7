// cascade_updates in one transaction (issue 11, adv11c; api/services/plan-edit-transaction.ts), through the real API
// over Postgres: the edit of a catalog plan and its cascade to every override child commit together or not at all,
// and concurrent edits of one plan are serialized by the plan's row lock (the later edit reads the earlier's result).
// The failure is a real Postgres error in the middle of the cascade: a trigger refusing the update of the SECOND
// child plan, after the parent and the first child were written in the same transaction.
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let metricId: string;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_cascade_tx' });
  metricId = (await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'ctx_calls', aggregation_type: 'count_agg' } })).body.billable_metric.lago_id;
  expect((await h.request('POST', '/customers', { customer: { external_id: 'ctx-cus', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
});
afterAll(async () => {
  await h?.stop();
});

/** A catalog plan with two override children (two subscriptions), oldest child first. */
async function planWithTwoChildren(code: string): Promise<{ parentId: string; childIds: [string, string] }> {
  const plan = await h.request('POST', '/plans', {
    plan: { name: `${code} v1`, code, interval: 'monthly', amount_cents: 5000, amount_currency: 'USD', charges: [{ billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '0.01' } }] },
  });
  expect(plan.status).toBe(200);
  const childIds: string[] = [];
  for (const [i, amount] of [4000, 3000].entries()) {
    const sub = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'ctx-cus', plan_code: code, external_id: `${code}-s${i}`, plan_overrides: { amount_cents: amount } } });
    expect(sub.status).toBe(200);
    childIds.push((await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: `${code}-s${i}` }).first('plan_id')).plan_id);
  }
  return { parentId: plan.body.plan.lago_id, childIds: childIds as [string, string] };
}

/** What an edit may change, for the parent and each child: plan row and charges. */
async function snapshot(planIds: string[]) {
  const out = [];
  for (const id of planIds) {
    const p = await h.database.db('plans').where({ id }).first('name', 'description', 'amount_cents', 'revision', 'overrides');
    const charges = await h.database.db('charges').where({ plan_id: id }).orderBy('position').select('id', 'properties', 'parent_id');
    out.push({ ...p, charges });
  }
  return out;
}

async function refuseUpdatesOf(planId: string): Promise<void> {
  await h.database.db.raw(`
    CREATE OR REPLACE FUNCTION adv11c_refuse_plan_update() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'injected failure: plan % may not be updated', NEW.id; END $$ LANGUAGE plpgsql`);
  await h.database.db.raw(`CREATE TRIGGER adv11c_refuse BEFORE UPDATE ON plans FOR EACH ROW WHEN (NEW.id = '${planId}'::uuid) EXECUTE FUNCTION adv11c_refuse_plan_update()`);
}
async function allowUpdates(): Promise<void> {
  await h.database.db.raw('DROP TRIGGER IF EXISTS adv11c_refuse ON plans');
}

test('a failure writing the second child plan in the middle of PUT /plans/:code cascade_updates leaves the parent and the first child exactly as they were (500); once it can succeed, the parent and both children follow', async () => {
  const { parentId, childIds } = await planWithTwoChildren('ctx_put');
  const before = await snapshot([parentId, ...childIds]);
  await refuseUpdatesOf(childIds[1]);
  try {
    const failed = await h.request('PUT', '/plans/ctx_put', { plan: { name: 'ctx_put v2', cascade_updates: true } });
    expect(failed.status).toBe(500);
    expect(await snapshot([parentId, ...childIds])).toEqual(before);
  } finally {
    await allowUpdates();
  }
  const ok = await h.request('PUT', '/plans/ctx_put', { plan: { name: 'ctx_put v2', cascade_updates: true } });
  expect(ok.status).toBe(200);
  const after = await snapshot([parentId, ...childIds]);
  expect(after.map((p) => [p.name, Number(p.amount_cents)])).toEqual([['ctx_put v2', 5000], ['ctx_put v2', 4000], ['ctx_put v2', 3000]]);
});

test('a failure in the middle of a nested charge route cascade (POST /plans/:code/charges) writes no charge on the parent nor on any child', async () => {
  const { parentId, childIds } = await planWithTwoChildren('ctx_charge');
  const before = await snapshot([parentId, ...childIds]);
  await refuseUpdatesOf(childIds[1]);
  try {
    const failed = await h.request('POST', '/plans/ctx_charge/charges', { charge: { billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '0.5' }, cascade_updates: true } });
    expect(failed.status).toBe(500);
    expect(await snapshot([parentId, ...childIds])).toEqual(before);
  } finally {
    await allowUpdates();
  }
  const ok = await h.request('POST', '/plans/ctx_charge/charges', { charge: { billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '0.5' }, cascade_updates: true } });
  expect(ok.status).toBe(200);
  expect((await snapshot([parentId, ...childIds])).map((p) => p.charges.length)).toEqual([2, 2, 2]);
});

test("an edit of a plan another transaction holds locked waits for its commit and then edits the committed plan: the other editor's description survives the PUT's name change", async () => {
  const { parentId, childIds } = await planWithTwoChildren('ctx_lock');
  const db = h.database.db;
  const other = await db.transaction();
  let put: Promise<{ status: number }>;
  try {
    await other('plans').where({ id: parentId }).forUpdate().first('id');
    await other('plans').where({ id: parentId }).update({ description: 'set by another editor' });
    put = h.request('PUT', '/plans/ctx_lock', { plan: { name: 'ctx_lock v2', cascade_updates: true } });
    // The PUT's transaction is waiting for the row lock (not failing, not done).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const waiting = await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      if (waiting.rows[0].n > 0) break;
      if (Date.now() > deadline) throw new Error('the PUT never waited for the plan lock');
      await new Promise((r) => setTimeout(r, 100));
    }
    await other.commit();
  } catch (err) {
    await other.rollback();
    throw err;
  }
  expect((await put).status).toBe(200);
  const [parent, ...children] = await snapshot([parentId, ...childIds]);
  expect([parent!.name, parent!.description]).toEqual(['ctx_lock v2', 'set by another editor']);
  // The cascade ran on the committed parent too: the children take both fields.
  expect(children.map((c) => [c.name, c.description])).toEqual([['ctx_lock v2', 'set by another editor'], ['ctx_lock v2', 'set by another editor']]);
});
