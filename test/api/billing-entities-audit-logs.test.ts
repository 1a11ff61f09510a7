// ops13g (issue 13) through the real HTTP API and Postgres: billing entities (the default one is the organization:
// its settings are read from and written to the organization row), activity logs and API logs.
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_o13g' });
});
afterAll(async () => {
  await h?.stop();
});

test("every organization has one default billing entity, coded by the organization's slug, answering the organization's own settings", async () => {
  await h.request('PUT', '/organizations', { organization: { timezone: 'Europe/Paris', net_payment_term: 15, billing_configuration: { invoice_grace_period: 3 } } });
  const list = await h.request('GET', '/billing_entities');
  expect(list.status).toBe(200);
  expect(list.body.billing_entities).toHaveLength(1);
  expect(list.body.billing_entities[0]).toMatchObject({ code: h.org.slug, name: 'Acme', is_default: true, timezone: 'Europe/Paris', net_payment_term: 15, invoice_grace_period: 3, document_numbering: 'per_billing_entity' });
  // An organization created after the migration gets its default entity too (the trigger).
  const other = await ensureOrganization(h.database.db, `be-other-${h.org.slug}`, 'Other Inc');
  expect(await h.database.db('billing_entities').where({ organization_id: other.id }).select('code', 'is_default')).toEqual([{ code: other.slug, is_default: true }]);
});

test('PUT on the default billing entity writes the organization (GET /organizations follows) and its tax codes become the default taxes', async () => {
  expect((await h.request('POST', '/taxes', { tax: { name: 'VAT', code: 'be_vat', rate: '20' } })).status).toBe(200);
  const put = await h.request('PUT', `/billing_entities/${h.org.slug}`, {
    billing_entity: { name: 'Acme SAS', timezone: 'UTC', net_payment_term: 30, billing_configuration: { invoice_grace_period: 2, invoice_footer: 'Thanks' }, legal_name: 'Acme SAS', address_line1: '1 rue X', country: 'FR', tax_codes: ['be_vat'] },
  });
  expect(put.status).toBe(200);
  expect(put.body.billing_entity).toMatchObject({ name: 'Acme SAS', timezone: 'UTC', net_payment_term: 30, invoice_grace_period: 2, invoice_footer: 'Thanks', legal_name: 'Acme SAS', country: 'FR' });
  expect(put.body.billing_entity.taxes.map((t: any) => t.code)).toEqual(['be_vat']);
  expect(put.body.name).toBe('Acme SAS'); // the bare object too
  const org = (await h.request('GET', '/organizations')).body.organization;
  expect(org).toMatchObject({ name: 'Acme SAS', timezone: 'UTC', net_payment_term: 30, billing_configuration: { invoice_grace_period: 2 } });
  expect((await h.request('GET', '/taxes/be_vat')).body.tax.applied_to_organization).toBe(true);
  // The row keeps none of the organization's own fields: one source of truth.
  expect(await h.database.db('billing_entities').where({ organization_id: h.org.id, is_default: true }).first('name', 'timezone', 'net_payment_term')).toEqual({ name: null, timezone: null, net_payment_term: null });
  expect(await h.request('PUT', `/billing_entities/${h.org.slug}`, { billing_entity: { tax_codes: ['nope'] } })).toMatchObject({ status: 404, body: { code: 'tax_not_found' } });
  expect(await h.request('PUT', `/billing_entities/${h.org.slug}`, { billing_entity: { document_number_prefix: 'XYZ' } })).toMatchObject({ status: 422, body: { error_details: { document_number_prefix: ['value_is_immutable'] } } });
});

test('a second billing entity is created with its own settings, listed after the default, its code unique; unknown codes are 404', async () => {
  const created = await h.request('POST', '/billing_entities', { billing_entity: { code: 'acme_us', name: 'Acme Inc', default_currency: 'USD', country: 'US', document_number_prefix: 'AUS' } });
  expect(created.status).toBe(200);
  expect(created.body.billing_entity).toMatchObject({ code: 'acme_us', name: 'Acme Inc', is_default: false, timezone: 'UTC', invoice_grace_period: 0, net_payment_term: 0, document_number_prefix: 'AUS', country: 'US' });
  expect(created.body.code).toBe('acme_us');
  expect(await h.request('POST', '/billing_entities', { billing_entity: { code: 'acme_us', name: 'Again' } })).toMatchObject({ status: 422, body: { error_details: { code: ['value_already_exist'] } } });
  expect(await h.request('POST', '/billing_entities', { billing_entity: { code: 'x' } })).toMatchObject({ status: 422, body: { error_details: { name: expect.any(Array) } } });
  const put = await h.request('PUT', '/billing_entities/acme_us', { billing_entity: { timezone: 'America/New_York', billing_configuration: { invoice_grace_period: 4 } } });
  expect(put.body.billing_entity).toMatchObject({ timezone: 'America/New_York', invoice_grace_period: 4, taxes: [] });
  // The organization is untouched by another entity's settings.
  expect((await h.request('GET', '/organizations')).body.organization.timezone).toBe('UTC');
  expect((await h.request('GET', '/billing_entities')).body.billing_entities.map((e: any) => e.code)).toEqual([h.org.slug, 'acme_us']);
  expect(await h.request('PUT', '/billing_entities/acme_us', { billing_entity: { tax_codes: ['be_vat'] } })).toMatchObject({ status: 422, body: { error_details: { tax_codes: ['not_supported_on_secondary_entity'] } } });
  expect(await h.request('GET', '/billing_entities/nope')).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  expect(await h.request('PUT', '/billing_entities/nope', { billing_entity: { name: 'N' } })).toMatchObject({ status: 404, body: { code: 'billing_entity_not_found' } });
  // Another organization does not see them.
  const other = await ensureOrganization(h.database.db, `be-iso-${h.org.slug}`, 'Iso');
  const key = await createApiKey(h.database.db, other.id);
  const theirs = await h.request('GET', '/billing_entities', undefined, { authorization: `Bearer ${key}` });
  expect(theirs.body.billing_entities.map((e: any) => e.code)).toEqual([other.slug]);
  expect((await h.request('GET', '/billing_entities/acme_us', undefined, { authorization: `Bearer ${key}` })).status).toBe(404);
});

test('API logs: write requests are logged asynchronously with status, redacted bodies and the key id; GETs and the event ingest posts are not; filters and lookup by request id', async () => {
  const before = Number((await h.database.db('api_logs').count<{ n: string }[]>({ n: '*' }))[0]!.n);
  const tax = await h.request('POST', '/taxes', { tax: { name: 'Log VAT', code: 'log_vat', rate: '10' } }, { 'x-request-id': 'log-req-1', 'user-agent': 'lago-ruby/1.0' });
  expect(tax.status).toBe(200);
  expect((await h.request('POST', '/taxes', { tax: { name: 'Dup', code: 'log_vat', rate: '10' } }, { 'x-request-id': 'log-req-2' })).status).toBe(422);
  const key = await h.request('POST', '/api_keys', { api_key: { name: 'logged' } }, { 'x-request-id': 'log-req-3' });
  expect(key.body.api_key.value).toMatch(/^ml_/);
  await h.request('GET', '/taxes', undefined, { 'x-request-id': 'log-req-get' });
  await h.request('POST', '/events', { event: { transaction_id: 'log_ev', external_subscription_id: 'none', code: 'none', timestamp: 1 } }, { 'x-request-id': 'log-req-event' });
  await h.runtime.apiLogs.flush();
  const one = await h.request('GET', '/api_logs/log-req-1');
  expect(one.status).toBe(200);
  const keyId = (await h.database.db('api_keys').where({ organization_id: h.org.id, name: 'default' }).first('id')).id;
  expect(one.body.api_log).toMatchObject({ request_id: 'log-req-1', http_method: 'post', http_status: 200, request_path: '/taxes', client: 'lago-ruby/1.0', api_version: 'v1', api_key_id: keyId });
  expect(JSON.parse(one.body.api_log.request_body)).toEqual({ tax: { name: 'Log VAT', code: 'log_vat', rate: '10' } });
  expect(JSON.parse(one.body.api_log.request_response).tax.code).toBe('log_vat');
  // The new key's value never reaches the log; the Authorization header is not stored anywhere.
  const logged = (await h.request('GET', '/api_logs/log-req-3')).body.api_log;
  expect(logged.request_response).not.toContain(key.body.api_key.value);
  const dump = JSON.stringify(await h.database.db('api_logs').where({ organization_id: h.org.id }).select('*'));
  expect(dump).not.toContain(h.apiKey);
  expect(dump).not.toContain(key.body.api_key.value);
  expect(await h.request('GET', '/api_logs/log-req-get')).toMatchObject({ status: 404, body: { code: 'api_log_not_found' } });
  expect((await h.request('GET', '/api_logs/log-req-event')).status).toBe(404);
  const failed = await h.request('GET', '/api_logs?http_statuses[]=failed&request_paths=/taxes');
  expect(failed.body.api_logs.map((l: any) => l.request_id)).toEqual(['log-req-2']);
  const by422 = await h.request('GET', '/api_logs?http_statuses[]=422&http_methods[]=post&request_paths=/taxes');
  expect(by422.body.api_logs.map((l: any) => l.request_id)).toEqual(['log-req-2']);
  const all = await h.request('GET', '/api_logs?per_page=100');
  expect(all.body.meta.total_count).toBeGreaterThanOrEqual(3);
  expect(Number((await h.database.db('api_logs').count<{ n: string }[]>({ n: '*' }))[0]!.n)).toBeGreaterThan(before);
  expect(await h.request('GET', '/api_logs?http_methods[]=get')).toMatchObject({ status: 422, body: { error_details: { 'http_methods[0]': ['value_is_invalid'] } } });
});

test('activity logs: API writes are logged with their final object, changes of an update and the key id; a one-off invoice is logged by the outbox in its transaction; filters and lookup by activity id', async () => {
  const bm = await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Act calls', code: 'act_calls', aggregation_type: 'count_agg' } });
  expect(bm.status).toBe(200);
  expect((await h.request('PUT', '/billable_metrics/act_calls', { billable_metric: { name: 'Act API calls' } })).status).toBe(200);
  expect((await h.request('POST', '/customers', { customer: { external_id: 'act_cust', currency: 'USD' } })).status).toBe(200);
  expect((await h.request('POST', '/customers', { customer: { external_id: 'act_cust', name: 'Ada' } })).status).toBe(200);
  expect((await h.request('POST', '/add_ons', { add_on: { name: 'Act pack', code: 'act_pack', amount_cents: 500, amount_currency: 'USD' } })).status).toBe(200);
  const inv = await h.request('POST', '/invoices', { invoice: { external_customer_id: 'act_cust', currency: 'USD', fees: [{ add_on_code: 'act_pack', units: '1' }] } });
  expect(inv.status).toBe(200);
  // The outbox-written entry is there at once (same transaction as the invoice), before any API log flush.
  const outbox = await h.database.db('activity_logs').where({ organization_id: h.org.id, resource_id: inv.body.invoice.lago_id }).select('activity_type', 'activity_source');
  expect(outbox).toEqual([{ activity_type: 'invoice.created', activity_source: 'system' }]);
  await h.runtime.apiLogs.flush();
  const metricLogs = await h.request('GET', `/activity_logs?resource_ids[]=${bm.body.billable_metric.lago_id}`);
  expect(metricLogs.body.activity_logs.map((l: any) => l.activity_type)).toEqual(['billable_metric.updated', 'billable_metric.created']);
  const updated = metricLogs.body.activity_logs[0];
  const keyId = (await h.database.db('api_keys').where({ organization_id: h.org.id, name: 'default' }).first('id')).id;
  expect(updated).toMatchObject({ activity_source: 'api', resource_type: 'BillableMetric', api_key_id: keyId, user_email: null, activity_object: { code: 'act_calls', name: 'Act API calls' } });
  expect(updated.activity_object_changes).toEqual({ name: ['Act calls', 'Act API calls'] });
  const customerLogs = await h.request('GET', '/activity_logs?external_customer_id=act_cust&resource_types[]=Customer');
  expect(customerLogs.body.activity_logs.map((l: any) => l.activity_type)).toEqual(['customer.updated', 'customer.created']);
  expect(customerLogs.body.activity_logs[0].activity_object_changes.name).toEqual([null, 'Ada']);
  const one = await h.request('GET', `/activity_logs/${updated.activity_id}`);
  expect(one.body.activity_log).toEqual(updated);
  expect((await h.request('GET', '/activity_logs?activity_types[]=invoice.created&activity_sources[]=system')).body.activity_logs.map((l: any) => l.resource_id)).toContain(inv.body.invoice.lago_id);
  expect(await h.request('GET', '/activity_logs/00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, body: { code: 'activity_log_not_found' } });
  expect(await h.request('GET', '/activity_logs?activity_sources[]=robot')).toMatchObject({ status: 422, body: { error_details: { 'activity_sources[0]': ['value_is_invalid'] } } });
  // Another organization sees none of them.
  const other = await ensureOrganization(h.database.db, `act-iso-${h.org.slug}`, 'Iso');
  const key = await createApiKey(h.database.db, other.id);
  expect((await h.request('GET', '/activity_logs', undefined, { authorization: `Bearer ${key}` })).body.activity_logs).toEqual([]);
  expect((await h.request('GET', `/activity_logs/${updated.activity_id}`, undefined, { authorization: `Bearer ${key}` })).status).toBe(404);
});
