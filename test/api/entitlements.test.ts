// Lago's features and entitlements (issue 13, ops13f) over the real HTTP API (Postgres, the Temporal dev server):
// features with typed privileges, plan entitlements (POST replaces all, PATCH merges, DELETEs), a subscription's
// overrides layered on its plan's (also through a plan override's child plan), deletes that cascade to plans and
// subscriptions, bad input as Lago's errors with the offending field and nothing half-written, and another
// organization seeing none of it.
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { seedSubscription, startApiHarness, type ApiHarness } from './harness';

jest.setTimeout(300_000);

let h: ApiHarness;
const ok = async (method: string, path: string, body?: unknown) => {
  const res = await h.request(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

const SEATS = {
  code: 'seats',
  name: 'Number of seats',
  description: 'Users of the account',
  privileges: [
    { code: 'max', name: 'Maximum', value_type: 'integer' },
    { code: 'max_admins', name: 'Max admins', value_type: 'integer' },
    { code: 'root', name: 'Allow root', value_type: 'boolean' },
    { code: 'provider', name: 'SSO provider', value_type: 'select', config: { select_options: ['google', 'okta'] } },
    { code: 'note' },
  ],
};

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_entitlements' });
});
afterAll(async () => {
  await h?.stop();
});

describe('features', () => {
  test('POST /features stores the typed privileges in order (value_type defaults to string, config only on select) and GET answers the same feature', async () => {
    const created = (await ok('POST', '/features', { feature: SEATS })).feature;
    expect(created).toEqual({
      code: 'seats',
      name: 'Number of seats',
      description: 'Users of the account',
      privileges: [
        { code: 'max', name: 'Maximum', value_type: 'integer', config: {} },
        { code: 'max_admins', name: 'Max admins', value_type: 'integer', config: {} },
        { code: 'root', name: 'Allow root', value_type: 'boolean', config: {} },
        { code: 'provider', name: 'SSO provider', value_type: 'select', config: { select_options: ['google', 'okta'] } },
        { code: 'note', name: null, value_type: 'string', config: {} },
      ],
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect((await ok('GET', '/features/seats')).feature).toEqual(created);
  });

  test('GET /features pages newest first and search_term matches name, code or description', async () => {
    await ok('POST', '/features', { feature: { code: 'sso', name: 'Single sign-on', privileges: [{ code: 'provider', value_type: 'select', config: { select_options: ['okta', 'azure'] } }] } });
    await ok('POST', '/features', { feature: { code: 'audit_log', description: 'Keeps a trail' } });
    const page1 = await ok('GET', '/features?per_page=2&page=1');
    expect(page1.features.map((f: any) => f.code)).toEqual(['audit_log', 'sso']);
    expect(page1.meta).toEqual({ current_page: 1, next_page: 2, prev_page: null, total_pages: 2, total_count: 3 });
    expect((await ok('GET', '/features?search_term=sign-on')).features.map((f: any) => f.code)).toEqual(['sso']);
    expect((await ok('GET', '/features?search_term=TRAIL')).features.map((f: any) => f.code)).toEqual(['audit_log']);
    expect((await ok('GET', '/features?search_term=seat')).features.map((f: any) => f.code)).toEqual(['seats']);
  });

  test('bad feature input is a 422 naming the field, and nothing is written', async () => {
    const cases: [unknown, Record<string, string[]>][] = [
      [{ feature: { code: 'seats' } }, { code: ['value_already_exist'] }],
      [{ feature: { code: 'f_sel', privileges: [{ code: 'p', value_type: 'select' }] } }, { 'privileges[0].config.select_options': ['value_is_mandatory'] }],
      [{ feature: { code: 'f_int', privileges: [{ code: 'p', value_type: 'integer', config: { select_options: ['a'] } }] } }, { 'privileges[0].config.select_options': ['value_is_invalid'] }],
      [{ feature: { code: 'f_dup', privileges: [{ code: 'p' }, { code: 'p' }] } }, { 'privileges[1].code': ['value_already_exist'] }],
      [{ feature: { code: 'f_type', privileges: [{ code: 'p', value_type: 'float' }] } }, { 'privileges[0].value_type': ['value_is_invalid'] }],
      [{ feature: { name: 'no code' } }, { code: ['value_is_mandatory'] }],
    ];
    for (const [body, details] of cases) {
      const res = await h.request('POST', '/features', body);
      expect({ status: res.status, code: res.body.code, error_details: res.body.error_details }).toEqual({ status: 422, code: 'validation_errors', error_details: details });
    }
    expect((await ok('GET', '/features?per_page=100')).meta.total_count).toBe(3);
    expect((await h.request('GET', '/features/nothing')).body).toMatchObject({ status: 404, code: 'feature_not_found' });
  });

  test('PUT /features/:code renames, adds privileges and re-options a select; it refuses a value_type change and dropping a select option in use', async () => {
    await ok('POST', '/features', { feature: { code: 'regions', privileges: [{ code: 'zone', value_type: 'select', config: { select_options: ['eu', 'us', 'ap'] } }] } });
    const seeded = await seedSubscription(h, { suffix: 'regions' });
    await ok('POST', `/plans/${seeded.planCode}/entitlements`, { entitlements: { regions: { zone: 'eu' } } });
    const edited = (await ok('PUT', '/features/regions', { feature: { name: 'Regions', privileges: [{ code: 'zone', name: 'Zone', config: { select_options: ['eu', 'us'] } }, { code: 'count', value_type: 'integer' }] } })).feature;
    expect(edited.name).toBe('Regions');
    expect(edited.privileges).toEqual([
      { code: 'zone', name: 'Zone', value_type: 'select', config: { select_options: ['eu', 'us'] } },
      { code: 'count', name: null, value_type: 'integer', config: {} },
    ]);
    const typeChange = await h.request('PUT', '/features/regions', { feature: { privileges: [{ code: 'count', value_type: 'string' }] } });
    expect(typeChange.status).toBe(422);
    expect(typeChange.body.error_details).toEqual({ 'privileges[0].value_type': ['cannot_be_changed'] });
    const inUse = await h.request('PUT', '/features/regions', { feature: { name: 'Never', privileges: [{ code: 'zone', config: { select_options: ['us'] } }] } });
    expect(inUse.status).toBe(422);
    expect(inUse.body.error_details).toEqual({ 'privileges[0].config.select_options': ['value_in_use'] });
    // Nothing of the refused edits was written (the name was in the same body).
    expect((await ok('GET', '/features/regions')).feature).toEqual(edited);
    expect((await h.request('PUT', '/features/nothing', { feature: { name: 'x' } })).status).toBe(404);
  });
});

describe('plan entitlements', () => {
  let plan = '';
  beforeAll(async () => {
    plan = (await seedSubscription(h, { suffix: 'planent' })).planCode;
  });

  test('POST replaces all the plan entitlements, typed as their privileges (integers and booleans as JSON, "10" and "true" accepted)', async () => {
    await ok('POST', `/plans/${plan}/entitlements`, { entitlements: { sso: { provider: 'okta' }, audit_log: {} } });
    const replaced = await ok('POST', `/plans/${plan}/entitlements`, { entitlements: { seats: { max: '10', root: 'true', provider: 'google' } } });
    expect(replaced.entitlements).toEqual([
      {
        code: 'seats',
        name: 'Number of seats',
        description: 'Users of the account',
        privileges: [
          { code: 'max', name: 'Maximum', value_type: 'integer', config: {}, value: 10 },
          { code: 'root', name: 'Allow root', value_type: 'boolean', config: {}, value: true },
          { code: 'provider', name: 'SSO provider', value_type: 'select', config: { select_options: ['google', 'okta'] }, value: 'google' },
        ],
      },
    ]);
    expect(await ok('GET', `/plans/${plan}/entitlements`)).toEqual(replaced);
  });

  test('PATCH adds a feature and updates or adds values; features and privileges not in the payload are left untouched', async () => {
    const patched = await ok('PATCH', `/plans/${plan}/entitlements`, { entitlements: { seats: { max: 20, max_admins: 3 }, sso: { provider: 'azure' } } });
    expect(patched.entitlements.map((e: any) => [e.code, Object.fromEntries(e.privileges.map((p: any) => [p.code, p.value]))])).toEqual([
      ['seats', { max: 20, max_admins: 3, root: true, provider: 'google' }],
      ['sso', { provider: 'azure' }],
    ]);
    expect((await ok('GET', `/plans/${plan}/entitlements/sso`)).entitlement.privileges).toEqual([
      { code: 'provider', name: null, value_type: 'select', config: { select_options: ['okta', 'azure'] }, value: 'azure' },
    ]);
  });

  test("a bad value is a 422 on '<privilege>_privilege_value' and the plan's entitlements stay as they were", async () => {
    const before = await ok('GET', `/plans/${plan}/entitlements`);
    const bad = await h.request('POST', `/plans/${plan}/entitlements`, { entitlements: { seats: { max: 2.5, root: 'yes', provider: 'github', note: 7 } } });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { max_privilege_value: ['value_is_invalid'], root_privilege_value: ['value_is_invalid'], provider_privilege_value: ['value_not_in_select_options'], note_privilege_value: ['value_is_invalid'] },
    });
    // A value that is no JSON integer, boolean or string is refused by the body's schema, at its path.
    expect((await h.request('PATCH', `/plans/${plan}/entitlements`, { entitlements: { seats: { max: [1] } } })).body.error_details).toEqual({ 'seats.max': ['invalid_value'] });
    expect((await h.request('PATCH', `/plans/${plan}/entitlements`, { entitlements: 'seats' })).status).toBe(422);
    expect((await h.request('POST', `/plans/${plan}/entitlements`, { entitlements: { ghost: {} } })).body).toMatchObject({ status: 404, code: 'feature_not_found' });
    expect((await h.request('POST', `/plans/${plan}/entitlements`, { entitlements: { seats: { ghost: 1 } } })).body).toMatchObject({ status: 404, code: 'privilege_not_found' });
    expect((await h.request('GET', '/plans/no_plan/entitlements')).body).toMatchObject({ status: 404, code: 'plan_not_found' });
    expect((await h.request('GET', `/plans/${plan}/entitlements/audit_log`)).body).toMatchObject({ status: 404, code: 'entitlement_not_found' });
    expect(await ok('GET', `/plans/${plan}/entitlements`)).toEqual(before);
  });

  test("DELETE of one privilege removes its value from the plan's entitlement only; DELETE of the entitlement removes the feature from the plan", async () => {
    const after = (await ok('DELETE', `/plans/${plan}/entitlements/seats/privileges/max_admins`)).entitlement;
    expect(after.privileges.map((p: any) => p.code)).toEqual(['max', 'root', 'provider']);
    expect((await ok('GET', '/features/seats')).feature.privileges.map((p: any) => p.code)).toContain('max_admins');
    expect((await h.request('DELETE', `/plans/${plan}/entitlements/seats/privileges/max_admins`)).body).toMatchObject({ status: 404, code: 'privilege_not_found' });
    const removed = (await ok('DELETE', `/plans/${plan}/entitlements/sso`)).entitlement;
    expect(removed).toMatchObject({ code: 'sso', privileges: [{ code: 'provider', value: 'azure' }] });
    expect((await ok('GET', `/plans/${plan}/entitlements`)).entitlements.map((e: any) => e.code)).toEqual(['seats']);
    expect((await h.request('DELETE', `/plans/${plan}/entitlements/sso`)).status).toBe(404);
  });

  test('POST with an empty object removes every entitlement of the plan', async () => {
    const other = (await seedSubscription(h, { suffix: 'planempty' })).planCode;
    await ok('POST', `/plans/${other}/entitlements`, { entitlements: { seats: { max: 1 } } });
    expect((await ok('POST', `/plans/${other}/entitlements`, { entitlements: {} })).entitlements).toEqual([]);
  });
});

describe('subscription entitlements', () => {
  let seeded: Awaited<ReturnType<typeof seedSubscription>>;
  beforeAll(async () => {
    seeded = await seedSubscription(h, { suffix: 'subent' });
    await ok('POST', `/plans/${seeded.planCode}/entitlements`, { entitlements: { seats: { max: 10, max_admins: 5, root: true, provider: 'google' } } });
  });

  test("without overrides the subscription's entitlements are its plan's (plan_value = value, override_value null)", async () => {
    const view = (await ok('GET', `/subscriptions/${seeded.subscriptionId}/entitlements`)).entitlements;
    expect(view).toHaveLength(1);
    expect(view[0].overrides).toEqual({});
    expect(view[0].privileges.map((p: any) => [p.code, p.value, p.plan_value, p.override_value])).toEqual([
      ['max', 10, 10, null],
      ['max_admins', 5, 5, null],
      ['root', true, true, null],
      ['provider', 'google', 'google', null],
    ]);
  });

  test('PATCH overrides values and adds a feature for this subscription only; the merged view shows plan and override values', async () => {
    const view = (await ok('PATCH', `/subscriptions/${seeded.subscriptionId}/entitlements`, { entitlements: { seats: { max: 15, provider: 'okta' }, sso: { provider: 'azure' } } })).entitlements;
    expect(view).toEqual([
      {
        code: 'seats',
        name: 'Number of seats',
        description: 'Users of the account',
        privileges: [
          { code: 'max', name: 'Maximum', value_type: 'integer', config: {}, value: 15, plan_value: 10, override_value: 15 },
          { code: 'max_admins', name: 'Max admins', value_type: 'integer', config: {}, value: 5, plan_value: 5, override_value: null },
          { code: 'root', name: 'Allow root', value_type: 'boolean', config: {}, value: true, plan_value: true, override_value: null },
          { code: 'provider', name: 'SSO provider', value_type: 'select', config: { select_options: ['google', 'okta'] }, value: 'okta', plan_value: 'google', override_value: 'okta' },
        ],
        overrides: { max: 15, provider: 'okta' },
      },
      {
        code: 'sso',
        name: 'Single sign-on',
        description: null,
        privileges: [{ code: 'provider', name: null, value_type: 'select', config: { select_options: ['okta', 'azure'] }, value: 'azure', plan_value: null, override_value: 'azure' }],
        overrides: { provider: 'azure' },
      },
    ]);
    // The plan is unchanged.
    expect((await ok('GET', `/plans/${seeded.planCode}/entitlements/seats`)).entitlement.privileges.find((p: any) => p.code === 'max').value).toBe(10);
    // A bad override is refused whole.
    const bad = await h.request('PATCH', `/subscriptions/${seeded.subscriptionId}/entitlements`, { entitlements: { seats: { max: 99, root: 'maybe' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error_details).toEqual({ root_privilege_value: ['value_is_invalid'] });
    expect((await ok('GET', `/subscriptions/${seeded.subscriptionId}/entitlements`)).entitlements[0].overrides).toEqual({ max: 15, provider: 'okta' });
  });

  test("DELETE of an overridden privilege brings the plan's value back; DELETE of the feature removes the override and the plan's entitlement stays", async () => {
    const back = (await ok('DELETE', `/subscriptions/${seeded.subscriptionId}/entitlements/seats/privileges/max`)).entitlement;
    expect(back.privileges.find((p: any) => p.code === 'max')).toMatchObject({ value: 10, plan_value: 10, override_value: null });
    expect(back.overrides).toEqual({ provider: 'okta' });
    const seats = (await ok('DELETE', `/subscriptions/${seeded.subscriptionId}/entitlements/seats`)).entitlement;
    expect(seats.overrides).toEqual({});
    expect(seats.privileges.find((p: any) => p.code === 'provider')).toMatchObject({ value: 'google', override_value: null });
    // sso came only from the override: deleting it answers what was removed, and the subscription no longer has it.
    const sso = (await ok('DELETE', `/subscriptions/${seeded.subscriptionId}/entitlements/sso`)).entitlement;
    expect(sso).toMatchObject({ code: 'sso', overrides: { provider: 'azure' } });
    expect((await ok('GET', `/subscriptions/${seeded.subscriptionId}/entitlements`)).entitlements.map((e: any) => e.code)).toEqual(['seats']);
    expect((await h.request('DELETE', `/subscriptions/${seeded.subscriptionId}/entitlements/sso`)).body).toMatchObject({ status: 404, code: 'entitlement_not_found' });
    expect((await h.request('DELETE', `/subscriptions/${seeded.subscriptionId}/entitlements/seats/privileges/ghost`)).body).toMatchObject({ status: 404, code: 'privilege_not_found' });
    expect((await h.request('GET', '/subscriptions/nobody/entitlements')).body).toMatchObject({ status: 404, code: 'subscription_not_found' });
    expect((await h.request('GET', `/subscriptions/${seeded.subscriptionId}/entitlements?subscription_status=terminated`)).body).toMatchObject({ status: 404, code: 'subscription_not_found' });
  });

  test("a subscription with plan_overrides (a child plan) has its catalog plan's entitlements, with its own overrides on top", async () => {
    await ok('POST', '/customers', { customer: { external_id: 'ent_ovr_cust', currency: 'USD' } });
    const created = await ok('POST', '/subscriptions', { subscription: { external_customer_id: 'ent_ovr_cust', plan_code: seeded.planCode, external_id: 'ent_ovr_sub', plan_overrides: { amount_cents: 4242 } } });
    expect(created.subscription.plan_code).toBe(seeded.planCode);
    const row = await h.database.db('subscriptions').join('plans', 'plans.id', 'subscriptions.plan_id').where('subscriptions.external_id', 'ent_ovr_sub').first('plans.parent_id');
    expect(row.parent_id).not.toBeNull(); // it really is billed on a child plan
    await ok('PATCH', '/subscriptions/ent_ovr_sub/entitlements', { entitlements: { seats: { max_admins: 9 } } });
    const view = (await ok('GET', '/subscriptions/ent_ovr_sub/entitlements')).entitlements;
    expect(view[0].privileges.map((p: any) => [p.code, p.value])).toEqual([['max', 10], ['max_admins', 9], ['root', true], ['provider', 'google']]);
  });
});

describe('deletes cascade', () => {
  test('DELETE of a privilege removes its values from plans and subscription overrides; DELETE of a feature removes it from every plan and subscription', async () => {
    await ok('POST', '/features', { feature: { code: 'gpus', privileges: [{ code: 'count', value_type: 'integer' }, { code: 'kind', value_type: 'string' }] } });
    const s = await seedSubscription(h, { suffix: 'cascade' });
    await ok('POST', `/plans/${s.planCode}/entitlements`, { entitlements: { gpus: { count: 2, kind: 'a100' }, seats: { max: 1 } } });
    await ok('PATCH', `/subscriptions/${s.subscriptionId}/entitlements`, { entitlements: { gpus: { count: 8 } } });
    const feature = (await ok('DELETE', '/features/gpus/privileges/count')).feature;
    expect(feature.privileges.map((p: any) => p.code)).toEqual(['kind']);
    expect((await ok('GET', `/plans/${s.planCode}/entitlements/gpus`)).entitlement.privileges.map((p: any) => p.code)).toEqual(['kind']);
    expect((await ok('GET', `/subscriptions/${s.subscriptionId}/entitlements`)).entitlements.find((e: any) => e.code === 'gpus')).toMatchObject({ overrides: {}, privileges: [{ code: 'kind', value: 'a100' }] });

    const deleted = (await ok('DELETE', '/features/gpus')).feature;
    expect(deleted).toMatchObject({ code: 'gpus', privileges: [{ code: 'kind' }] });
    expect((await ok('GET', `/plans/${s.planCode}/entitlements`)).entitlements.map((e: any) => e.code)).toEqual(['seats']);
    expect((await ok('GET', `/subscriptions/${s.subscriptionId}/entitlements`)).entitlements.map((e: any) => e.code)).toEqual(['seats']);
    expect((await h.request('GET', '/features/gpus')).status).toBe(404);
    // No row of it is left behind.
    const left = await h.database.db('entitlements').join('features', 'features.id', 'entitlements.feature_id').where('features.code', 'gpus').count({ n: '*' });
    expect(Number(left[0]!.n)).toBe(0);
    expect((await h.request('DELETE', '/features/gpus')).status).toBe(404);
    // The code can be used again.
    expect((await ok('POST', '/features', { feature: { code: 'gpus' } })).feature.privileges).toEqual([]);
  });
});

describe('concurrency', () => {
  test("a PATCH of a plan's entitlements while its feature is being deleted answers 404 feature_not_found (not a 5xx), and the plan has nothing of it after", async () => {
    await ok('POST', '/features', { feature: { code: 'racer', privileges: [{ code: 'n', value_type: 'integer' }] } });
    const s = await seedSubscription(h, { suffix: 'race' });
    // The deletion holds the feature's row (as DELETE /features/:code does) while the PATCH runs.
    const trx = await h.database.db.transaction();
    try {
      await trx('features').where({ organization_id: h.org.id, code: 'racer' }).forUpdate();
      const patch = h.request('PATCH', `/plans/${s.planCode}/entitlements`, { entitlements: { racer: { n: 1 } } });
      // Until the PATCH waits on that row lock.
      for (let i = 0; ; i++) {
        const waiting = await h.database.db.raw("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        if (waiting.rows[0].n > 0) break;
        if (i > 600) throw new Error('the PATCH never waited on the feature row');
        await new Promise((r) => setTimeout(r, 50));
      }
      await trx('features').where({ organization_id: h.org.id, code: 'racer' }).delete();
      await trx.commit();
      const answer = await patch;
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 404, code: 'feature_not_found' });
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
    expect((await ok('GET', `/plans/${s.planCode}/entitlements`)).entitlements).toEqual([]);
  });
});

describe('tenant isolation', () => {
  test("another organization sees none of these features or entitlements, cannot change them, and its own feature of the same code is its own", async () => {
    const b = await ensureOrganization(h.database.db, 'ent-tenant-b', 'B');
    const keyB = await createApiKey(h.database.db, b.id);
    const asB = (method: string, path: string, body?: unknown) => h.request(method, path, body, { authorization: `Bearer ${keyB}` });
    const s = await seedSubscription(h, { suffix: 'isoa' });
    await ok('POST', `/plans/${s.planCode}/entitlements`, { entitlements: { seats: { max: 3 } } });
    expect((await asB('GET', '/features')).body.features).toEqual([]);
    expect((await asB('GET', '/features/seats')).status).toBe(404);
    expect((await asB('GET', `/plans/${s.planCode}/entitlements`)).body.code).toBe('plan_not_found');
    expect((await asB('PATCH', `/subscriptions/${s.subscriptionId}/entitlements`, { entitlements: { seats: { max: 1 } } })).body.code).toBe('subscription_not_found');
    expect((await asB('DELETE', '/features/seats')).status).toBe(404);
    expect((await asB('DELETE', '/features/seats/privileges/max')).status).toBe(404);
    const own = await asB('POST', '/features', { feature: { code: 'seats', privileges: [{ code: 'max', value_type: 'string' }] } });
    expect(own.status).toBe(200);
    expect((await ok('GET', '/features/seats')).feature.privileges[0].value_type).toBe('integer');
    expect((await ok('GET', `/plans/${s.planCode}/entitlements/seats`)).entitlement.privileges).toEqual([{ code: 'max', name: 'Maximum', value_type: 'integer', config: {}, value: 3 }]);
  });
});
