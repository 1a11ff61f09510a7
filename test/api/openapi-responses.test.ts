// The OpenAPI document describes every 2xx answer of every route, and real answers conform to it.
// Real system: the HTTP API, the billing worker (so DELETE and the period close really run), Postgres and the
// Temporal dev server. The routes are read from the Express router stack (test/support/route-table.ts): a new
// route without a documented 200 body, or never exercised here, fails this file. A 200 documented with a
// non-JSON media type (the invoice PDF, the webhook public key) is checked by its content type and a check of
// its bytes (the PDF's magic bytes; the key: base64 of a PEM public key) instead.
// Payment routes run against the Stripe fake (test/support/fake-stripe.ts): a second API and worker on their
// own task queue with the fake as payment provider, for the organization's customers created through it.
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { eventually, startSystem, type System } from '../e2e/harness';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { startApi, type RunningApi } from '../../api/server';
import { recordAlertTriggers } from '../../db/repositories/alerts';
import { upsertDunningCampaign, upsertProviderConfig } from '../../db/repositories/payments';
import { claimDueWebhooks, enqueueWebhook, recordWebhookAttempt } from '../../db/repositories/webhooks';
import { createBillingWorker } from '../../worker/worker';
import { invoicePaymentQuery, invoiceWorkflowId } from '../../workflows/messages';
import { seedUninvoicedFee } from '../support/uninvoiced-fee';
import { FakeStripe } from '../support/fake-stripe';
import { ingestEvents } from '../support/fixtures';
import { temporalTestAddress } from '../support/services';
import { apiRoutes, matchesTemplate, type MountedRoute } from '../support/route-table';

// Walks every route (the walk grows with the route table, and a loaded machine slows each call): a wide budget.
jest.setTimeout(600_000);

let sys: System;
let doc: any;
let routes: MountedRoute[];
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv); // `uri` (file_url) and the other formats are checked, not ignored
/** Every 2xx answer seen: route template → number validated. */
const exercised = new Map<string, number>();
/** Rendered invoice PDFs go to a temporary data folder, not the repository's .data. */
const DATA_DIR = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'meterline-oa-'));
/** The check of each documented non-JSON media type: null when the bytes are right, else what is wrong. */
const CHECKS: Record<string, (bytes: Buffer) => string | null> = {
  'application/pdf': (b) => (b.subarray(0, 5).toString('latin1') === '%PDF-' ? null : `does not start with %PDF-: ${JSON.stringify(b.subarray(0, 16).toString('latin1'))}`),
  // GET /webhooks/public_key (as Lago): base64 of the RS256 public key's PEM.
  'text/plain': (b) => {
    const text = b.toString('utf8');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return `is not base64: ${JSON.stringify(text.slice(0, 40))}`;
    const pem = Buffer.from(text, 'base64').toString('utf8');
    return /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/.test(pem) ? null : `is not the base64 of a PEM public key: ${JSON.stringify(pem.slice(0, 40))}`;
  },
};
/** Payment provider side: the Stripe fake, behind a second API and worker (their own task queue). */
const fake = new FakeStripe();
const PAY_QUEUE = `oa-pay-${process.pid}`;
let payApi: RunningApi;
let payWorker: Worker;
let payWorkerRun: Promise<void>;
let payConnection: NativeConnection;

/** The document's path for a route template (path parameters compared by position, not by name). */
function documentedPath(template: string): string | undefined {
  const shape = (t: string) => t.replace(/\{[^}]+\}/g, '{}');
  return Object.keys(doc.paths).find((p) => shape(p) === shape(template));
}

function operation(method: string, template: string): any {
  const p = documentedPath(template);
  return p === undefined ? undefined : doc.paths[p][method.toLowerCase()];
}

function key(method: string, template: string) {
  return `${method} ${template}`;
}

function routeOf(method: string, path: string): MountedRoute {
  const candidates = routes.filter((r) => r.method === method && matchesTemplate(r.template, path));
  // A literal segment beats a parameter (/events/errors, not /events/{transaction_id}): Express mounts them first.
  const r = candidates.sort((a, b) => (b.template.match(/\{/g)?.length ?? 0) > (a.template.match(/\{/g)?.length ?? 0) ? -1 : 1)[0];
  if (!r) throw new Error(`no mounted route for ${method} ${path}`);
  return r;
}

/** The documented 200 of a route is valid: a JSON schema whose $ref resolves, or only non-JSON media types we can check. */
function documented200(op: any): boolean {
  const content = op?.responses?.['200']?.content;
  if (!content || Object.keys(content).length === 0) return false;
  const schema = content['application/json']?.schema;
  if (schema !== undefined) return !!schema.$ref && !!ajv.getSchema(`meterline-openapi${schema.$ref}`);
  return Object.keys(content).every((type) => CHECKS[type] !== undefined);
}

/**
 * Calls the API, expects a 2xx, and checks the answer against the document for that route and status: a JSON
 * body against its schema; a documented non-JSON body (a PDF) by its content type and leading magic bytes.
 */
async function call(method: string, path: string, body?: unknown, baseUrl = sys.baseUrl): Promise<any> {
  const raw = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${sys.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const bytes = Buffer.from(await raw.arrayBuffer());
  const contentType = (raw.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (raw.status < 200 || raw.status > 299) throw new Error(`${method} ${path} → ${raw.status}: ${bytes.toString('utf8').slice(0, 2000)}`);
  const route = routeOf(method, path);
  const op = operation(method, route.template);
  const content = op?.responses?.[String(raw.status)]?.content;
  if (!content) throw new Error(`${method} ${route.template}: nothing documented for ${raw.status}`);
  if (!content[contentType]) throw new Error(`${method} ${path} → ${raw.status} answers ${contentType}, documented: ${Object.keys(content).join(', ')}`);
  if (contentType !== 'application/json') {
    const check = CHECKS[contentType];
    if (!check) throw new Error(`${method} ${route.template}: no check for the documented ${contentType}`);
    const wrong = check(bytes);
    if (wrong !== null) throw new Error(`${method} ${path} → ${raw.status} ${contentType} ${wrong}`);
    exercised.set(key(method, route.template), (exercised.get(key(method, route.template)) ?? 0) + 1);
    return bytes;
  }
  const res = { status: raw.status, body: bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : null };
  const schema = content['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${route.template}: no documented schema for ${res.status}`);
  const validate = ajv.getSchema(`meterline-openapi${schema.$ref}`);
  if (!validate) throw new Error(`unresolvable ${schema.$ref}`);
  if (!validate(res.body)) {
    throw new Error(`${method} ${path} → ${res.status} does not conform to ${schema.$ref}:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(res.body).slice(0, 2000)}`);
  }
  exercised.set(key(method, route.template), (exercised.get(key(method, route.template)) ?? 0) + 1);
  return res.body;
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  sys = await startSystem('dev-server');
  doc = await (await fetch(sys.baseUrl.replace(/\/api\/v1$/, '') + '/api/v1/openapi.json')).json();
  ajv.addSchema({ $id: 'meterline-openapi', components: doc.components });
  const { createApp } = await import('../../api/server');
  // The route table of the app the system runs (same createApp; only its router stack is read).
  const app = createApp({ db: sys.database.db, temporal: sys.client });
  routes = apiRoutes(app);
  await (await import('../../api/server')).runtimeOf(app).signaller.stop();
  const providerFor = () => new StripePaymentProvider(fake.client());
  payConnection = await NativeConnection.connect({ address: temporalTestAddress() });
  payWorker = await createBillingWorker({ connection: payConnection, namespace: 'default', db: sys.database.db, taskQueue: PAY_QUEUE, paymentProviderFor: providerFor });
  payWorkerRun = payWorker.run();
  payApi = await startApi({ db: sys.database.db, temporal: sys.client, subscriptionTaskQueue: PAY_QUEUE, paymentProviderFor: providerFor });
});

afterAll(async () => {
  await payApi?.close();
  if (payWorker) {
    payWorker.shutdown();
    await payWorkerRun;
    await payConnection.close();
  }
  await sys?.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

test('every mounted route documents its 200 answer: a JSON schema whose $ref resolves, or a checked non-JSON media type', () => {
  expect(routes.length).toBeGreaterThan(20);
  const missing: string[] = [];
  const nonJson: string[] = [];
  for (const r of routes) {
    const op = operation(r.method, r.template);
    if (!documented200(op)) missing.push(key(r.method, r.template));
    else if (!op.responses['200'].content['application/json']) nonJson.push(key(r.method, r.template));
  }
  expect(missing).toEqual([]);
  // Only the invoice's PDF and the webhook public key (text/plain, as Lago) are not JSON; a new non-JSON route
  // is a deliberate addition to this list.
  expect(nonJson).toEqual(['GET /invoices/{lago_id}/file', 'GET /credit_notes/{lago_id}/file', 'GET /webhooks/public_key']);
  // The check can fail: an empty 200, or a media type nobody checks, is not documented.
  expect(documented200({ responses: { '200': { description: 'OK' } } })).toBe(false);
  expect(documented200({ responses: { '200': { content: { 'text/csv': {} } } } })).toBe(false);
  expect(CHECKS['text/plain']!(Buffer.from('not base64!'))).not.toBeNull();
  expect(CHECKS['text/plain']!(Buffer.from(Buffer.from('hello').toString('base64')))).not.toBeNull();
  expect(documented200({ responses: { '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } } } })).toBe(false);
});

test('a schema is closed: an undocumented field in an answer fails validation (the check can fail)', () => {
  const validate = ajv.getSchema('meterline-openapi#/components/schemas/PaginationMeta')!;
  const meta = { current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 0 };
  expect(validate(meta)).toBe(true);
  expect(validate({ ...meta, surprise: 1 })).toBe(false);
  expect(validate({ ...meta, total_count: '0' })).toBe(false);
});

test('real answers of every route conform to the documented 200 schema', async () => {
  const s = 'oa';
  const now = Date.now();
  const ts = Math.floor(now / 1000) - 60;
  // Taxes first, so the plan, its charge, the customer and then the invoices and fees carry applied taxes.
  await call('POST', '/taxes', { tax: { name: 'VAT', code: `vat_${s}`, rate: '20', description: 'Standard VAT', applied_to_organization: false } });
  await call('POST', '/taxes', { tax: { name: 'Temp', code: `temp_${s}`, rate: 5.5 } });
  const taxList = await call('GET', '/taxes?page=1&per_page=10');
  expect(taxList.taxes.map((t: any) => t.code)).toEqual(expect.arrayContaining([`vat_${s}`, `temp_${s}`]));
  await call('GET', `/taxes/vat_${s}`);
  const updated = await call('PUT', `/taxes/temp_${s}`, { tax: { name: 'Temp reduced', rate: '2.1', description: null } });
  expect(updated.tax.rate).toBe(2.1);
  await call('DELETE', `/taxes/temp_${s}`);
  // Payment settings (Meterline extension): connected and disconnected again, so this organization's invoices
  // never reach the real Stripe; a campaign that is not the default changes nothing for them.
  const connected = await call('PUT', '/payment_providers/stripe', { payment_provider: { secret_key: 'sk_test_oa1234', webhook_secret: 'whsec_oa', success_redirect_url: 'https://example.test/ok' } });
  expect(connected.payment_provider).toMatchObject({ code: 'stripe', secret_key_last4: '1234', webhook_secret_configured: true });
  expect(JSON.stringify(connected)).not.toContain('sk_test_oa1234');
  await call('GET', '/payment_providers');
  await call('DELETE', '/payment_providers/stripe');
  await call('POST', '/dunning_campaigns', { dunning_campaign: { code: `dun_${s}`, name: 'Dunning', max_attempts: 3, days_between_attempts: 2, thresholds: [{ currency: 'EUR', amount_cents: 100 }] } });
  await call('GET', '/dunning_campaigns');
  await call('GET', `/dunning_campaigns/dun_${s}`);
  await call('PUT', `/dunning_campaigns/dun_${s}`, { dunning_campaign: { max_attempts: 4, consequence: 'terminate_subscription' } });
  await call('DELETE', `/dunning_campaigns/dun_${s}`);
  await call('GET', '/tax_settings');
  // Automatic rules on: a customer without tax codes (auto_) gets the rule's decision on its invoice; customers
  // with tax codes (cust_) keep their tax objects.
  const settings = await call('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: true, seller_country: 'FR', us_state_rates: { CA: '7.25' }, country_rates: { CH: 8.1 } } });
  expect(settings.tax_settings.us_state_rates).toEqual({ CA: '7.25' });
  const bm = await call('POST', '/billable_metrics', {
    billable_metric: {
      name: 'Tokens',
      code: `tokens_${s}`,
      aggregation_type: 'sum_agg',
      field_name: 'tokens',
      filters: [{ key: 'model', values: ['small', 'large'] }],
    },
  });
  await call('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: `calls_${s}`, aggregation_type: 'count_agg' } });
  await call('GET', '/billable_metrics?page=1&per_page=1');
  await call('GET', `/billable_metrics/tokens_${s}`);
  await call('POST', '/plans', {
    plan: {
      name: 'Pro',
      code: `pro_${s}`,
      interval: 'monthly',
      amount_cents: 1500,
      amount_currency: 'USD',
      trial_period: 0,
      minimum_commitment: { amount_cents: 5000 },
      usage_thresholds: [{ amount_cents: 1_000_000, threshold_display_name: 'big' }],
      tax_codes: [`vat_${s}`],
      charges: [
        {
          billable_metric_id: bm.billable_metric.lago_id,
          charge_model: 'standard',
          properties: { amount: '0.002' },
          tax_codes: [`vat_${s}`],
          filters: [{ invoice_display_name: 'Large model', properties: { amount: '0.01' }, values: { model: ['large'] } }],
        },
        { billable_metric_code: `calls_${s}`, charge_model: 'graduated', properties: { graduated_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '0', flat_amount: '0' }, { from_value: 11, to_value: null, per_unit_amount: '0.5', flat_amount: '1' }] } },
      ],
    },
  });
  await call('GET', `/plans/pro_${s}`);
  // No plan or charge taxes: its customer's invoice is taxed by the automatic rule (plan taxes would win).
  await call('POST', '/plans', { plan: { name: 'Plain', code: `plain_${s}`, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD' } });
  await call('POST', '/customers', { customer: { external_id: `cust_${s}`, name: 'Ada', email: 'ada@example.com', currency: 'USD', timezone: 'Europe/Paris', country: 'FR', customer_type: 'company', state: 'IDF', zipcode: '75001', tax_codes: [`vat_${s}`], billing_configuration: { invoice_grace_period: 0 } } });
  await call('POST', '/customers', { customer: { external_id: `bare_${s}` } });
  await call('POST', '/customers', { customer: { external_id: `auto_${s}`, currency: 'USD', country: 'DE', customer_type: 'individual', billing_configuration: { invoice_grace_period: 0 } } });
  await call('GET', `/customers/cust_${s}`);
  await call('GET', `/customers/bare_${s}`);
  // Backdated: its first period (last month) closes at once, so an invoice exists.
  const backdated = new Date(now - 40 * 86_400_000).toISOString();
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${s}`, plan_code: `pro_${s}`, external_id: `sub_${s}`, subscription_at: backdated, name: 'Main' } });
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${s}`, plan_code: `pro_${s}`, external_id: `end_${s}`, billing_time: 'anniversary' } });
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `auto_${s}`, plan_code: `plain_${s}`, external_id: `auto_${s}`, subscription_at: backdated } });
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${s}`, plan_code: `pro_${s}`, external_id: `later_${s}`, subscription_at: new Date(now + 7 * 86_400_000).toISOString() } });
  await call('GET', '/subscriptions');
  await call('GET', `/subscriptions?status[]=pending&status[]=active&external_customer_id=cust_${s}`);
  await call('GET', `/subscriptions/sub_${s}`);
  await call('GET', `/subscriptions/later_${s}`);
  const renamedSub = await call('PUT', `/subscriptions/end_${s}`, { subscription: { name: 'Ends next year', ending_at: new Date(now + 300 * 86_400_000).toISOString() } });
  expect(renamedSub.subscription.name).toBe('Ends next year');

  await call('POST', `/subscriptions/sub_${s}/alerts`, { alert: { alert_type: 'current_usage_amount', code: `spend_${s}`, name: 'Spend', thresholds: [{ value: 1, code: 'low' }, { value: '500', recurring: true }] } });
  await call('POST', `/subscriptions/sub_${s}/alerts`, { alert: { alert_type: 'billable_metric_current_usage_units', code: `units_${s}`, billable_metric_code: `tokens_${s}`, thresholds: [{ value: '10.5' }] } });
  await call('GET', `/subscriptions/sub_${s}/alerts`);

  const one = await call('POST', '/events', { event: { transaction_id: `tx1_${s}`, external_subscription_id: `sub_${s}`, code: `tokens_${s}`, timestamp: ts, properties: { tokens: 1500, model: 'large' } } });
  expect(one.event.duplicate).toBe(false);
  const dup = await call('POST', '/events', { event: { transaction_id: `tx1_${s}`, external_subscription_id: `sub_${s}`, code: `tokens_${s}`, timestamp: ts, properties: { tokens: 1500, model: 'large' } } });
  expect(dup.event.duplicate).toBe(true);
  await call('POST', '/events/batch', {
    events: [
      { transaction_id: `tx2_${s}`, external_subscription_id: `sub_${s}`, code: `tokens_${s}`, timestamp: String(ts), properties: { tokens: '20.25', model: 'small' } },
      { transaction_id: `tx3_${s}`, external_subscription_id: `sub_${s}`, code: `calls_${s}`, timestamp: new Date(ts * 1000).toISOString() },
      { transaction_id: `tx4_${s}`, external_subscription_id: `end_${s}`, code: `tokens_${s}`, timestamp: ts + 30, properties: { tokens: 7 }, precise_total_amount_cents: '12.5' },
    ],
  });
  await call('GET', `/events/tx1_${s}`);
  await call('GET', `/events/tx4_${s}`);
  // A rejected event is recorded and listed.
  const rejected = await sys.request('POST', '/events', { event: { transaction_id: `bad_${s}`, external_subscription_id: 'nobody', code: `tokens_${s}`, timestamp: ts } });
  expect(rejected.status).toBe(422);
  const errors = await call('GET', '/events/errors');
  expect(errors.event_errors.length).toBeGreaterThan(0);
  await call('GET', `/events/errors?transaction_id=bad_${s}&per_page=5`);
  const imported = await call('POST', '/events/import', {
    source: 'legacy',
    import_batch: 'q3.csv',
    events: [
      { transaction_id: `imp1_${s}`, external_subscription_id: `sub_${s}`, code: `tokens_${s}`, timestamp: Math.floor((now - 35 * 86_400_000) / 1000), properties: { tokens: 300 } },
      { transaction_id: `tx1_${s}`, external_subscription_id: `sub_${s}`, code: `tokens_${s}`, timestamp: ts - 10, properties: { tokens: 1 } },
    ],
  });
  expect(imported.import.duplicates_count).toBe(1);

  const usage = await call('GET', `/customers/cust_${s}/current_usage?external_subscription_id=sub_${s}`);
  expect(usage.customer_usage.charges_usage.length).toBe(2);
  await call('GET', `/customers/cust_${s}/current_usage?external_subscription_id=sub_${s}&billable_metric_code=tokens_${s}`);
  const past = await call('GET', `/customers/cust_${s}/past_usage?external_subscription_id=sub_${s}`);
  expect(past.usage_periods.length).toBeGreaterThanOrEqual(2); // 40 days back: 2 or 3 calendar months
  await call('GET', `/customers/cust_${s}/past_usage?external_subscription_id=sub_${s}&billable_metric_code=tokens_${s}&per_page=1&page=2`);

  // A trigger as the workflow's activity records it (alerting itself is proven in test/e2e/thresholds.test.ts;
  // here only the serializer's shape matters, so it is written directly rather than waited for).
  const alerts = await call('GET', `/subscriptions/sub_${s}/alerts`);
  const unitsAlert = alerts.alerts.find((a: any) => a.code === `units_${s}`);
  const sub = await call('GET', `/subscriptions/sub_${s}`);
  await recordAlertTriggers(sys.database.db, [{
    organizationId: alerts.alerts[0].lago_organization_id,
    alertId: unitsAlert.lago_id,
    subscriptionId: sub.subscription.lago_id,
    period: { start: usage.customer_usage.from_datetime, end: usage.customer_usage.to_datetime },
    thresholdCode: null,
    thresholdValue: '10.5',
    thresholdRecurring: false,
    crossedValue: '1520.25',
    triggeredAt: new Date(),
  }]);
  const triggered = await call('GET', `/subscriptions/sub_${s}/alerts/triggered`);
  expect(triggered.triggered_alerts.map((t: any) => t.alert_code)).toContain(`units_${s}`);

  // Terminate one subscription (its final invoice) and wait for the backdated one's closed period.
  const ended = await call('DELETE', `/subscriptions/end_${s}`);
  expect(ended.subscription.status).toBe('terminated');
  const invoices = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=cust_${s}`);
    return b.invoices.length >= 2 ? b : undefined;
  }, 60_000, 'two invoices');
  for (const inv of invoices.invoices) await call('GET', `/invoices/${inv.lago_id}`);
  // The invoices carry the customer's tax: applied taxes on the invoice and on its fees are part of the checked answers.
  expect(invoices.invoices.some((i: any) => i.applied_taxes.length > 0 && i.fees.some((f: any) => f.applied_taxes.length > 0))).toBe(true);
  const auto = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=auto_${s}`);
    return b.invoices[0];
  }, 60_000, "the automatically taxed customer's invoice");
  expect(auto.tax_decision).toEqual(expect.objectContaining({ customer_country: 'DE', seller_country: 'FR' }));
  await call('GET', `/invoices/${auto.lago_id}`);
  const finalized = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=cust_${s}&status=finalized`);
    return b.invoices[0];
  }, 60_000, 'a finalized invoice');
  const downloaded = await call('POST', `/invoices/${finalized.lago_id}/download`);
  expect(downloaded.invoice.file_url).toMatch(new RegExp(`/invoices/${finalized.lago_id}/file$`));
  const pdf: Buffer = await call('GET', `/invoices/${finalized.lago_id}/file`);
  expect(pdf.length).toBeGreaterThan(100);
  // Once rendered, the invoice's reads show the file_url too.
  expect((await call('GET', `/invoices/${finalized.lago_id}`)).invoice.file_url).toBe(downloaded.invoice.file_url);
  await call('GET', `/invoices?external_subscription_id=sub_${s}&status=finalized&per_page=1`);
  await call('GET', `/subscriptions?status=terminated`);

  await call('POST', '/invoices/preview', { customer: { external_id: `cust_${s}` }, plan_code: `pro_${s}`, usage: [{ billable_metric_code: `tokens_${s}`, units: '1000' }] });
  await call('POST', '/invoices/preview', { customer: { external_id: `cust_${s}` }, subscription: { external_id: `sub_${s}` }, billing_period: { index: 0 } });

  // FX operator routes: a manual rate, then the rate an invoice of that day would use.
  await call('GET', '/organizations');
  await call('PUT', '/organizations', { organization: { net_payment_term: 0 } });
  await call('GET', '/fx_settings');
  await call('PUT', '/fx_settings', { fx_settings: { invoicing_enabled: true } });
  const day = new Date(now).toISOString().slice(0, 10);
  await call('POST', '/fx_rates', { fx_rate: { base_currency: 'USD', quote_currency: 'EUR', date: day, rate: '0.9215', note: 'treasury' } });
  const resolved = await call('GET', `/fx_rates/resolve?base_currency=USD&quote_currency=EUR&date=${day}`);
  expect(resolved.fx_rate.source).toBe('manual');

  // A poison row stored before the input limits existed (written directly, as in test/api/input-limits.test.ts):
  // reading the usage moves it aside, so the quarantine list has an entry whose shape is checked.
  const poisonSub = await call('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${s}`, plan_code: `pro_${s}`, external_id: `poison_${s}` } });
  await ingestEvents(sys.database.db, { organizationId: alerts.alerts[0].lago_organization_id, subscriptionId: poisonSub.subscription.lago_id, externalSubscriptionId: `poison_${s}` }, [
    { code: `tokens_${s}`, timestamp: new Date().toISOString(), properties: { tokens: 1e79, model: 'small' }, transactionId: `poison_${s}` },
  ]);
  await call('GET', `/customers/cust_${s}/current_usage?external_subscription_id=poison_${s}`);
  const quarantined = await call('GET', '/events/quarantined?page=1&per_page=5');
  expect(quarantined.quarantined_events.map((e: any) => e.transaction_id)).toEqual([`poison_${s}`]);

  // API keys: a second key is created, listed, read, rotated and its replacement revoked. The key this test
  // calls with (the harness's) is never touched.
  const created = await call('POST', '/api_keys', { api_key: { name: `ops_${s}` } });
  expect(created.api_key.value).toEqual(expect.any(String));
  const keys = await call('GET', '/api_keys');
  expect(keys.api_keys.some((k: any) => k.lago_id === created.api_key.lago_id && k.value === undefined)).toBe(true);
  await call('GET', `/api_keys/${created.api_key.lago_id}`);
  const rotated = await call('POST', `/api_keys/${created.api_key.lago_id}/rotate`, {});
  expect(rotated.revoked_api_key.lago_id).toBe(created.api_key.lago_id);
  const revoked = await call('DELETE', `/api_keys/${rotated.api_key.lago_id}`);
  expect(revoked.api_key.revoked_at).not.toBeNull();
  expect((await sys.request('GET', '/api_keys')).status).toBe(200); // the test's own key still works

  // ---- outgoing webhooks: endpoints, keys, the delivery log and a retry ---------------------------------------
  const organizationId: string = alerts.alerts[0].lago_organization_id;
  // event_types names a type nothing in this test emits: the log holds only the webhook seeded below.
  const endpoint = await call('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://hooks.example.test/oa', signature_algo: 'hmac', name: 'Ops', event_types: ['customer.created'] } });
  await call('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'http://hooks.example.test/all' } });
  const endpoints = await call('GET', '/webhook_endpoints?page=1&per_page=10');
  expect(endpoints.webhook_endpoints.length).toBe(2);
  await call('GET', `/webhook_endpoints/${endpoint.webhook_endpoint.lago_id}`);
  const renamed = await call('PUT', `/webhook_endpoints/${endpoint.webhook_endpoint.lago_id}`, { webhook_endpoint: { webhook_url: 'https://hooks.example.test/oa2', signature_algo: 'jwt', name: null, event_types: null } });
  expect(renamed.webhook_endpoint.signature_algo).toBe('jwt');
  // A failed delivery, as the delivery loop records it (written through the repository: no delivery runs here).
  const webhookId = await sys.database.db.transaction(async (trx) => {
    await enqueueWebhook(trx, { organizationId, webhookType: 'customer.created', objectType: 'customer', object: { lago_id: 'c-oa', external_id: `cust_${s}` }, uniqueKey: `customer.created:oa:${s}` });
    return (await trx('webhooks').where({ organization_id: organizationId, webhook_endpoint_id: endpoint.webhook_endpoint.lago_id }).first('id')).id as string;
  });
  const started = new Date();
  await claimDueWebhooks(sys.database.db, { now: started, limit: 10, leaseMs: 60_000 }); // as the delivery loop claims it (attempt 1)
  await recordWebhookAttempt(sys.database.db, {
    organizationId, webhookId, attempt: 1, webhookUrl: 'https://hooks.example.test/oa2', httpStatus: 500, error: 'HTTP 500', succeeded: false,
    response: 'oops', startedAt: started, finishedAt: new Date(started.getTime() + 10), status: 'failed', nextAttemptAt: started,
  });
  await call('GET', '/webhooks');
  const failed = await call('GET', `/webhooks?status=failed&webhook_endpoint_id=${endpoint.webhook_endpoint.lago_id}&webhook_type=customer.created&per_page=5`);
  expect(failed.webhooks.map((w: any) => w.lago_id)).toEqual([webhookId]);
  const oneWebhook = await call('GET', `/webhooks/${webhookId}`);
  expect(oneWebhook.webhook.attempts_log).toHaveLength(1);
  const retried = await call('POST', `/webhooks/${webhookId}/retry`, {});
  expect(retried.webhook.status).toBe('retrying');
  await call('GET', '/webhooks/public_key');
  await call('GET', '/webhooks/json_public_key');
  await call('GET', '/webhooks/hmac_key');
  await call('DELETE', `/webhook_endpoints/${endpoint.webhook_endpoint.lago_id}`);

  // ---- test clocks (sandbox) -------------------------------------------------------------------------------
  const clock = await call('POST', '/test_clocks', { test_clock: { name: 'oa', frozen_time: '2026-01-01T00:00:00Z' } });
  await call('POST', '/test_clocks', { test_clock: {} });
  await call('GET', '/test_clocks?page=1&per_page=10');
  await call('GET', `/test_clocks/${clock.test_clock.lago_id}`);
  const advanced = await call('POST', `/test_clocks/${clock.test_clock.lago_id}/advance`, { test_clock: { frozen_time: '2026-02-01T00:00:00Z' } });
  expect(advanced.test_clock.frozen_time).toBe('2026-02-01T00:00:00.000Z');
  // ---- wallets (issue 12): create, read, list, update, top up, list and read transactions, terminate ---------
  const wallet = await call('POST', '/wallets', { wallet: { external_customer_id: `cust_${s}`, name: 'Prepaid', code: `w_${s}`, rate_amount: '1', currency: 'USD', granted_credits: '5', paid_credits: '2', applies_to: { fee_types: ['charge'] }, recurring_transaction_rules: [{ trigger: 'threshold', method: 'fixed', threshold_credits: '1', granted_credits: '3' }] } });
  await call('GET', `/wallets/${wallet.wallet.lago_id}`);
  await call('GET', `/wallets?external_customer_id=cust_${s}`);
  await call('PUT', `/wallets/${wallet.wallet.lago_id}`, { wallet: { priority: 2, recurring_transaction_rules: [{ trigger: 'interval', interval: 'monthly', target_ongoing_balance: '10', method: 'target' }] } });
  const topUps = await call('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: wallet.wallet.lago_id, paid_credits: '1', granted_credits: '1', voided_credits: '1', invoice_requires_successful_payment: true } });
  expect(topUps.wallet_transactions).toHaveLength(3);
  await call('GET', `/wallets/${wallet.wallet.lago_id}/wallet_transactions?per_page=5`);
  await call('GET', `/wallet_transactions/${topUps.wallet_transactions[0].lago_id}`);
  await call('DELETE', `/wallets/${wallet.wallet.lago_id}`);

  // ---- invoice actions and payments ------------------------------------------------------------------------
  // A manual payment and metadata on the finalized invoice; the automatically taxed customer's invoice voided.
  const paid = await call('POST', '/payments', { payment: { invoice_id: finalized.lago_id, amount_cents: 1, reference: `wire_${s}`, paid_at: day } });
  expect(paid.payment.amount_cents).toBe(1);
  const tagged = await call('PUT', `/invoices/${finalized.lago_id}`, { invoice: { metadata: [{ key: 'po', value: 'PO-1' }] } });
  expect(tagged.invoice).toMatchObject({ total_paid_amount_cents: 1, metadata: [{ key: 'po', value: 'PO-1' }] });
  // An action answers the invoice as GET /invoices/:id does (fees' lago_item_id, FX fields, file_url included).
  expect(tagged.invoice).toEqual(await call('GET', `/invoices/${finalized.lago_id}`).then((b) => b.invoice));
  const autoFinal = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=auto_${s}&status=finalized`);
    return b.invoices[0];
  }, 60_000, "the automatically taxed customer's finalized invoice");
  const voided = await call('POST', `/invoices/${autoFinal.lago_id}/void`, {});
  expect(voided.invoice.status).toBe('voided');
  // A draft in its grace period (its workflow runs on the payment worker's queue): refreshed, then finalized.
  // (A country: the organization's automatic tax rules are on.)
  await call('POST', '/customers', { customer: { external_id: `grace_${s}`, currency: 'USD', country: 'DE', customer_type: 'individual', billing_configuration: { invoice_grace_period: 3 } } }, payApi.url + '/api/v1');
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `grace_${s}`, plan_code: `plain_${s}`, external_id: `grace_${s}`, subscription_at: backdated } }, payApi.url + '/api/v1');
  const draft = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=grace_${s}&status=draft`);
    return b.invoices[0];
  }, 60_000, 'a draft in its grace period');
  // The draft row is written just before its invoice workflow starts: wait for the workflow (else 409 not running).
  await eventually(async () => ((await sys.client.workflow.getHandle(invoiceWorkflowId(draft.lago_id)).describe().catch(() => null))?.status.name === 'RUNNING' ? true : undefined), 60_000, "the draft's invoice workflow");
  await call('PUT', `/invoices/${draft.lago_id}/refresh`, {}, payApi.url + '/api/v1');
  const final = await call('PUT', `/invoices/${draft.lago_id}/finalize`, {}, payApi.url + '/api/v1');
  expect(final.invoice.status).toBe('finalized');
  // del13 (issue 13): a second draft of that customer, deleted (the tombstone is answered once, then 404).
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `grace_${s}`, plan_code: `plain_${s}`, external_id: `gdel_${s}`, subscription_at: backdated } }, payApi.url + '/api/v1');
  const doomed = await eventually(async () => {
    const b = await call('GET', `/invoices?external_subscription_id=gdel_${s}&status=draft`);
    return b.invoices[0];
  }, 60_000, 'a second draft in its grace period');
  const deleted = await call('DELETE', `/invoices/${doomed.lago_id}`);
  expect(deleted.invoice).toMatchObject({ lago_id: doomed.lago_id, status: 'deleted' });

  // ---- customer-and-money operations (issue 13, ops13a), before Stripe is connected ------------------------
  await call('GET', `/customers/cust_${s}/invoices?payment_status=pending&amount_from=1&issuing_date_from=2020-01-01&search_term=cust`);
  await call('GET', `/customers/cust_${s}/credit_notes?per_page=5`);
  await call('GET', `/customers/cust_${s}/applied_coupons?status=active&coupon_code[]=none`);
  expect((await call('GET', `/payments?external_customer_id=cust_${s}&invoice_id=${finalized.lago_id}`)).payments.map((p: any) => p.lago_id)).toEqual([paid.payment.lago_id]);
  await call('GET', `/customers/cust_${s}/payments`);
  await call('GET', `/payments/${paid.payment.lago_id}`);
  const receipts = await call('GET', `/payment_receipts?invoice_id=${finalized.lago_id}`);
  expect(receipts.payment_receipts.map((r: any) => r.payment.lago_id)).toEqual([paid.payment.lago_id]);
  await call('GET', `/payment_receipts/${receipts.payment_receipts[0].lago_id}`);
  await sys.database.db('invoices').where({ id: finalized.lago_id }).update({ payment_overdue: true }); // as the overdue check marks it
  const requested = await call('POST', '/payment_requests', { payment_request: { external_customer_id: `cust_${s}`, email: 'billing@example.com', lago_invoice_ids: [finalized.lago_id] } });
  expect(requested.payment_request.invoices.map((i: any) => i.lago_id)).toEqual([finalized.lago_id]);
  await call('GET', `/payment_requests?external_customer_id=cust_${s}&payment_status=pending`);
  await call('GET', `/payment_requests/${requested.payment_request.lago_id}`);
  await call('GET', `/customers/cust_${s}/payment_requests?currency=USD`);
  await call('POST', `/customers/cust_${s}/wallets`, { wallet: { name: 'By code', code: `bycode_${s}`, rate_amount: '1', currency: 'USD', granted_credits: '1' } });
  await call('GET', `/customers/cust_${s}/wallets?per_page=5`);
  await call('GET', `/customers/cust_${s}/wallets/bycode_${s}`);
  await call('PUT', `/customers/cust_${s}/wallets/bycode_${s}`, { wallet: { name: 'By code, renamed' } });
  await call('DELETE', `/customers/cust_${s}/wallets/bycode_${s}`);

  // Stripe connected (the fake): a checkout link, a payment link, and a declined invoice in dunning retried now.
  await upsertProviderConfig(sys.database.db, { organizationId, code: 'stripe-oa', secretKey: 'sk_test_fake', webhookSecret: 'whsec_oa', successRedirectUrl: 'https://example.test/thanks' });
  await upsertDunningCampaign(sys.database.db, organizationId, { code: `dunning_${s}`, maxAttempts: 2, daysBetweenAttempts: 3, thresholds: [{ currency: 'USD', amountCents: 0 }], consequence: 'mark_uncollectible', appliedToOrganization: true });
  const checkout = await call('POST', `/customers/cust_${s}/checkout_url`, {}, payApi.url + '/api/v1');
  expect(checkout.customer.checkout_url).toMatch(/^https:\/\//);
  const link = await call('POST', `/invoices/${finalized.lago_id}/payment_url`, {}, payApi.url + '/api/v1');
  expect(link.invoice_payment_details.lago_invoice_id).toBe(finalized.lago_id);
  // A pending purchase of credits (ops13a): a checkout link for its top-up invoice.
  const purchase = await call('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: (await call('POST', '/wallets', { wallet: { external_customer_id: `cust_${s}`, name: 'To pay', rate_amount: '1', currency: 'USD' } }, payApi.url + '/api/v1')).wallet.lago_id, paid_credits: '2', invoice_requires_successful_payment: true } }, payApi.url + '/api/v1');
  const topUpLink = await call('POST', `/wallet_transactions/${purchase.wallet_transactions[0].lago_id}/payment_url`, {}, payApi.url + '/api/v1');
  expect(topUpLink.wallet_transaction_payment_details.payment_url).toMatch(/^https:\/\//);
  const dunned = await call('POST', '/customers', { customer: { external_id: `dun_${s}`, currency: 'USD', country: 'DE', customer_type: 'individual', billing_configuration: { invoice_grace_period: 0 } } }, payApi.url + '/api/v1');
  const { providerCustomerId } = await new StripePaymentProvider(fake.client()).syncCustomer({ customerId: dunned.customer.lago_id, externalCustomerId: `dun_${s}`, name: null, email: null, providerCustomerId: null });
  await sys.database.db('customers').where({ id: dunned.customer.lago_id }).update({ payment_provider: 'stripe', provider_customer_id: providerCustomerId });
  fake.addCard(providerCustomerId, { decline: 'insufficient_funds' });
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `dun_${s}`, plan_code: `plain_${s}`, external_id: `dun_${s}`, subscription_at: backdated } }, payApi.url + '/api/v1');
  const declined = await eventually(async () => {
    const b = await call('GET', `/invoices?external_customer_id=dun_${s}&status=finalized`);
    const inv = b.invoices[0];
    if (!inv) return undefined;
    const state = await sys.client.workflow.getHandle(invoiceWorkflowId(inv.lago_id)).query(invoicePaymentQuery).catch(() => null);
    return state?.status === 'dunning' ? inv : undefined;
  }, 60_000, 'a declined invoice waiting for its dunning attempt');
  const retriedPayment = await call('POST', `/invoices/${declined.lago_id}/retry_payment`, {}, payApi.url + '/api/v1');
  expect(retriedPayment.invoice.lago_id).toBe(declined.lago_id);

  // ---- customer portal link and analytics (issue 13) --------------------------------------------------------
  const portal = await call('GET', `/customers/cust_${s}/portal_url`);
  expect(portal.customer.portal_url).toContain('/portal#v1.');
  const gross = await call('GET', '/analytics/gross_revenue');
  expect(gross.gross_revenues.length).toBeGreaterThan(0);
  await call('GET', `/analytics/gross_revenue?currency=USD&external_customer_id=cust_${s}&months=3`);
  expect((await call('GET', '/analytics/invoiced_usage')).invoiced_usages.length).toBeGreaterThan(0);
  expect((await call('GET', '/analytics/mrr?months=12')).mrrs.length).toBeGreaterThan(0);
  await call('GET', `/analytics/overdue_balance?external_customer_id=cust_${s}`);
  // ---- Lago's everyday API (issue 13): lists, edits, deletions, events, fees, projected usage ------------------
  await call('GET', '/plans?page=1&per_page=2');
  await call('GET', '/customers?per_page=2');
  await call('GET', `/customers?search_term=cust_${s}&countries[]=FR&currencies[]=USD&customer_type=company`);
  const listed = await call('GET', `/events?external_subscription_id=sub_${s}&code=tokens_${s}&timestamp_from=${new Date(now - 86_400_000).toISOString()}`);
  expect(listed.events.map((e: any) => e.transaction_id)).toEqual(expect.arrayContaining([`tx1_${s}`, `tx2_${s}`]));
  const chargeFees = await call('GET', `/fees?external_customer_id=cust_${s}&fee_type=charge&per_page=5`);
  await call('GET', '/fees?per_page=3');
  await call('GET', `/fees/${chargeFees.fees[0].lago_id}`);
  // A fee on no invoice (a pay-in-advance charge's, invoiceable false): listed, read and its payment status set.
  const uninvoicedFeeId = await seedUninvoicedFee(sys.database.db, { organizationId, subscriptionId: sub.subscription.lago_id, transactionId: `instant_${s}`, amount: '2.5', amountCents: 250 });
  expect((await call('GET', `/fees?event_transaction_id=instant_${s}`)).fees.map((f: any) => f.lago_id)).toEqual([uninvoicedFeeId]);
  await call('GET', `/fees/${uninvoicedFeeId}`);
  expect((await call('PUT', `/fees/${uninvoicedFeeId}`, { fee: { payment_status: 'succeeded' } })).fee.payment_status).toBe('succeeded');
  // DELETE /fees/:lago_id (ops13a): a second fee on no invoice, soft-deleted.
  const deletableFeeId = await seedUninvoicedFee(sys.database.db, { organizationId, subscriptionId: sub.subscription.lago_id, transactionId: `instant_del_${s}`, amount: '1', amountCents: 100 });
  expect((await call('DELETE', `/fees/${deletableFeeId}`)).fee.lago_id).toBe(deletableFeeId);
  await call('GET', `/customers/cust_${s}/projected_usage?external_subscription_id=sub_${s}`);
  await call('GET', `/customers/cust_${s}/subscriptions?status[]=active&status[]=terminated&per_page=10`);
  await call('PUT', `/billable_metrics/tokens_${s}`, { billable_metric: { name: 'Tokens v2', filters: [{ key: 'model', values: ['small', 'large', 'xl'] }] } });
  await call('POST', '/billable_metrics', { billable_metric: { name: 'Scratch', code: `scratch_${s}`, aggregation_type: 'count_agg' } });
  await call('PUT', `/billable_metrics/scratch_${s}`, { billable_metric: { aggregation_type: 'sum_agg', field_name: 'n' } });
  await call('DELETE', `/billable_metrics/scratch_${s}`);
  await call('PUT', `/plans/pro_${s}`, { plan: { amount_cents: 1600, description: 'more' } });
  await call('POST', '/plans', { plan: { name: 'Scratch', code: `scratch_${s}`, interval: 'weekly', amount_cents: 1, amount_currency: 'USD' } });
  // Nested charges and filters (api/routes/plan-charges.ts), on the scratch plan.
  await call('POST', `/plans/scratch_${s}/charges`, { charge: { billable_metric_code: `tokens_${s}`, code: `tok_${s}`, charge_model: 'standard', properties: { amount: '1' } } });
  await call('GET', `/plans/scratch_${s}/charges?per_page=5`);
  await call('GET', `/plans/scratch_${s}/charges/tok_${s}`);
  await call('PUT', `/plans/scratch_${s}/charges/tok_${s}`, { charge: { properties: { amount: '2' } } });
  const scratchFilter = await call('POST', `/plans/scratch_${s}/charges/tok_${s}/filters`, { filter: { values: { model: ['xl'] }, properties: { amount: '3' } } });
  await call('GET', `/plans/scratch_${s}/charges/tok_${s}/filters`);
  await call('GET', `/plans/scratch_${s}/charges/tok_${s}/filters/${scratchFilter.filter.lago_id}`);
  await call('PUT', `/plans/scratch_${s}/charges/tok_${s}/filters/${scratchFilter.filter.lago_id}`, { filter: { invoice_display_name: 'XL' } });
  await call('DELETE', `/plans/scratch_${s}/charges/tok_${s}/filters/${scratchFilter.filter.lago_id}`);
  await call('DELETE', `/plans/scratch_${s}/charges/tok_${s}`);
  await call('DELETE', `/plans/scratch_${s}`);
  await call('POST', '/customers', { customer: { external_id: `gone_${s}` } });
  await call('DELETE', `/customers/gone_${s}`);
  // Coupons, add-ons, a one-off invoice and its credit notes (issue 12b).
  await call('POST', '/coupons', { coupon: { name: 'Ten', code: `ten_${s}`, coupon_type: 'percentage', percentage_rate: '10', frequency: 'recurring', frequency_duration: 3, expiration: 'no_expiration', applies_to: { plan_codes: [`plain_${s}`] } } });
  await call('POST', '/coupons', { coupon: { name: 'Fixed', code: `fixed_${s}`, coupon_type: 'fixed_amount', amount_cents: 500, amount_currency: 'USD', frequency: 'once', expiration: 'time_limit', expiration_at: new Date(now + 86_400_000).toISOString() } });
  await call('GET', '/coupons?page=1&per_page=5');
  await call('GET', `/coupons/ten_${s}`);
  await call('PUT', `/coupons/ten_${s}`, { coupon: { name: 'Ten percent' } });
  const applied = await call('POST', '/applied_coupons', { applied_coupon: { external_customer_id: `bare_${s}`, coupon_code: `ten_${s}` } });
  await call('POST', '/applied_coupons', { applied_coupon: { external_customer_id: `auto_${s}`, coupon_code: `fixed_${s}` } });
  await call('GET', `/applied_coupons?external_customer_id=bare_${s}&status=active`);
  await call('DELETE', `/customers/bare_${s}/applied_coupons/${applied.applied_coupon.lago_id}`);
  await call('POST', '/add_ons', { add_on: { name: 'GPU hours', code: `gpu_${s}`, amount_cents: 10_000, amount_currency: 'USD', description: '100 GPU-hours', tax_codes: [`vat_${s}`] } });
  await call('PUT', `/add_ons/gpu_${s}`, { add_on: { invoice_display_name: 'GPU-hour pack' } });
  await call('GET', '/add_ons');
  await call('GET', `/add_ons/gpu_${s}`);
  await call('POST', '/add_ons', { add_on: { name: 'Gone', code: `gone_${s}`, amount_cents: 1, amount_currency: 'USD' } });
  await call('DELETE', `/add_ons/gone_${s}`);
  // Lago's fixed charges (fixed13): a plan of their own, its nested routes, and a subscription's units override.
  await call('POST', '/plans', { plan: { name: 'Fixed', code: `fxp_${s}`, interval: 'monthly', amount_cents: 0, amount_currency: 'USD', fixed_charges: [{ add_on_code: `gpu_${s}`, code: `fxs_${s}`, charge_model: 'standard', units: 2, properties: { amount: '3' }, tax_codes: [`vat_${s}`] }] } });
  await call('POST', `/plans/fxp_${s}/fixed_charges`, { fixed_charge: { add_on_code: `gpu_${s}`, code: `fxv_${s}`, charge_model: 'volume', units: '1', properties: { volume_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '0' }] } } });
  await call('GET', `/plans/fxp_${s}/fixed_charges?per_page=5`);
  await call('GET', `/plans/fxp_${s}/fixed_charges/fxv_${s}`);
  await call('PUT', `/plans/fxp_${s}/fixed_charges/fxv_${s}`, { fixed_charge: { units: '4' } });
  await call('POST', '/customers', { customer: { external_id: `fxc_${s}`, currency: 'USD' } });
  await call('POST', '/subscriptions', { subscription: { external_customer_id: `fxc_${s}`, plan_code: `fxp_${s}`, external_id: `fxsub_${s}` } });
  await call('GET', `/subscriptions/fxsub_${s}/fixed_charges`);
  await call('GET', `/subscriptions/fxsub_${s}/fixed_charges/fxs_${s}`);
  await call('PUT', `/subscriptions/fxsub_${s}/fixed_charges/fxs_${s}`, { fixed_charge: { units: '5', apply_units_immediately: true } });
  await call('DELETE', `/plans/fxp_${s}/fixed_charges/fxv_${s}`);
  const oneOff = (await call('POST', '/invoices', { invoice: { external_customer_id: `auto_${s}`, fees: [{ add_on_code: `gpu_${s}`, units: '2', unit_amount_cents: 5000, description: 'Two packs' }] } })).invoice;
  expect([oneOff.invoice_type, oneOff.status, oneOff.fees_amount_cents, oneOff.taxes_amount_cents]).toEqual(['one_off', 'finalized', 10_000, 2_000]);
  const items = [{ fee_id: oneOff.fees[0].lago_id, amount_cents: 1000 }];
  const est = await call('POST', '/credit_notes/estimate', { credit_note: { invoice_id: oneOff.lago_id, items } });
  expect(est.estimated_credit_note.max_creditable_amount_cents).toBe(1200);
  const note = (await call('POST', '/credit_notes', { credit_note: { invoice_id: oneOff.lago_id, reason: 'other', items } })).credit_note;
  expect([note.total_amount_cents, note.credit_amount_cents, note.balance_amount_cents]).toEqual([1200, 1200, 1200]);
  await call('GET', `/credit_notes?external_customer_id=auto_${s}`);
  await call('GET', `/credit_notes/${note.lago_id}`);
  const noteDoc = await call('POST', `/credit_notes/${note.lago_id}/download`);
  expect(noteDoc.credit_note.file_url).toMatch(new RegExp(`/credit_notes/${note.lago_id}/file$`));
  const notePdf: Buffer = await call('GET', `/credit_notes/${note.lago_id}/file`);
  expect(notePdf.subarray(0, 5).toString()).toBe('%PDF-');
  await call('PUT', `/credit_notes/${note.lago_id}/void`, {});
  await call('DELETE', `/coupons/fixed_${s}`);

  // ---- ops13b (issue 13): alert edits by code, metadata, PUT /credit_notes, fee estimates -----------------------
  {
    const t = `o13b_${s}`;
    await call('POST', '/billable_metrics', { billable_metric: { name: 'Units', code: `u_${t}`, aggregation_type: 'sum_agg', field_name: 'n' } });
    await call('POST', '/plans', { plan: { name: 'Advance', code: `adv_${t}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', charges: [{ billable_metric_code: `u_${t}`, charge_model: 'standard', pay_in_advance: true, invoiceable: false, properties: { amount: '2' } }] } });
    await call('POST', '/customers', { customer: { external_id: `c_${t}`, currency: 'USD', country: 'FR' } });
    await call('POST', '/subscriptions', { subscription: { external_customer_id: `c_${t}`, plan_code: `adv_${t}`, external_id: `s_${t}` } });
    await call('POST', `/subscriptions/s_${t}/alerts`, { alert: { alert_type: 'current_usage_amount', code: `a1_${t}`, thresholds: [{ value: 10 }] } });
    await call('POST', `/subscriptions/s_${t}/alerts`, { alert: { alert_type: 'billable_metric_current_usage_units', code: `a2_${t}`, billable_metric_code: `u_${t}`, thresholds: [{ value: 3 }] } });
    await call('GET', `/subscriptions/s_${t}/alerts/a1_${t}`);
    await call('PUT', `/subscriptions/s_${t}/alerts/a1_${t}`, { alert: { name: 'Spend', thresholds: [{ value: 20, recurring: true }] } });
    await call('DELETE', `/subscriptions/s_${t}/alerts/a1_${t}`);
    expect((await call('DELETE', `/subscriptions/s_${t}/alerts`)).alerts.map((a: any) => a.code)).toEqual([`a2_${t}`]);
    await call('POST', `/plans/adv_${t}/metadata`, { metadata: { crm: 'X', tier: null } });
    await call('PATCH', `/plans/adv_${t}/metadata`, { metadata: { tier: 'gold' } });
    await call('DELETE', `/plans/adv_${t}/metadata/crm`);
    expect((await call('GET', `/plans/adv_${t}`)).plan.metadata).toEqual({ tier: 'gold' });
    await call('DELETE', `/plans/adv_${t}/metadata`);
    const w = (await call('POST', '/wallets', { wallet: { external_customer_id: `c_${t}`, name: 'W', rate_amount: '1', currency: 'USD', granted_credits: '1' } })).wallet;
    await call('POST', `/wallets/${w.lago_id}/metadata`, { metadata: { k: 'v' } });
    await call('PATCH', `/wallets/${w.lago_id}/metadata`, { metadata: { k2: 'v2' } });
    await call('DELETE', `/wallets/${w.lago_id}/metadata/k`);
    expect((await call('GET', `/wallets/${w.lago_id}`)).wallet.metadata).toEqual({ k2: 'v2' });
    await call('DELETE', `/wallets/${w.lago_id}/metadata`);
    const inv = (await call('POST', '/invoices', { invoice: { external_customer_id: `c_${t}`, fees: [{ add_on_code: `gpu_${s}`, units: '1' }] } })).invoice;
    await call('POST', '/payments', { payment: { invoice_id: inv.lago_id, amount_cents: inv.total_amount_cents, reference: `r_${t}` } });
    const cn = (await call('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, reason: 'other', credit_amount_cents: 0, refund_amount_cents: 600, items: [{ fee_id: inv.fees[0].lago_id, amount_cents: 500 }] } })).credit_note;
    await call('POST', `/credit_notes/${cn.lago_id}/metadata`, { metadata: { ticket: 'T' } });
    await call('PATCH', `/credit_notes/${cn.lago_id}/metadata`, { metadata: { bank: 'B' } });
    await call('DELETE', `/credit_notes/${cn.lago_id}/metadata/ticket`);
    expect((await call('PUT', `/credit_notes/${cn.lago_id}`, { credit_note: { refund_status: 'succeeded' } })).credit_note).toMatchObject({ refund_status: 'succeeded', metadata: { bank: 'B' } });
    await call('DELETE', `/credit_notes/${cn.lago_id}/metadata`);
    const ev = { code: `u_${t}`, external_subscription_id: `s_${t}`, transaction_id: `e_${t}`, properties: { n: 3 } };
    expect((await call('POST', '/events/estimate_fees', { event: ev })).fees[0].amount_cents).toBe(600);
    await call('POST', '/events/estimate_instant_fees', { event: ev });
    await call('POST', '/events/batch_estimate_instant_fees', { events: [{ event: ev }, ev] });
    expect((await call('GET', '/analytics/invoice_collection?currency=USD')).invoice_collections.length).toBeGreaterThan(0);
  }

  // ---- ops13c (issue 13): subscription charge overrides, lifetime usage, lose_dispute -----------------------------
  {
    const t = `o13c_${s}`;
    await call('POST', '/billable_metrics', { billable_metric: { name: 'Req', code: `m_${t}`, aggregation_type: 'sum_agg', field_name: 'n', filters: [{ key: 'tier', values: ['a', 'b'] }] } });
    await call('POST', '/plans', { plan: { name: 'Ovr', code: `p_${t}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', usage_thresholds: [{ amount_cents: 10_000 }], charges: [{ billable_metric_code: `m_${t}`, charge_model: 'standard', properties: { amount: '1' }, filters: [{ values: { tier: ['a'] }, properties: { amount: '2' } }] }] } });
    await call('POST', '/customers', { customer: { external_id: `c_${t}`, currency: 'USD' } });
    await call('POST', '/subscriptions', { subscription: { external_customer_id: `c_${t}`, plan_code: `p_${t}`, external_id: `s_${t}` } });
    await call('GET', `/subscriptions/s_${t}/charges?per_page=5`);
    await call('PUT', `/subscriptions/s_${t}/charges/m_${t}`, { charge: { properties: { amount: '3' }, invoice_display_name: 'Own price' } });
    await call('GET', `/subscriptions/s_${t}/charges/m_${t}`);
    const f = (await call('GET', `/subscriptions/s_${t}/charges/m_${t}/filters`)).filters[0];
    await call('GET', `/subscriptions/s_${t}/charges/m_${t}/filters/${f.lago_id}`);
    await call('PUT', `/subscriptions/s_${t}/charges/m_${t}/filters/${f.lago_id}`, { filter: { properties: { amount: '4' } } });
    const added = (await call('POST', `/subscriptions/s_${t}/charges/m_${t}/filters`, { filter: { values: { tier: ['b'] }, properties: { amount: '5' } } })).filter;
    await call('DELETE', `/subscriptions/s_${t}/charges/m_${t}/filters/${added.lago_id}`);
    await call('GET', `/subscriptions/s_${t}/lifetime_usage`);
    expect((await call('PUT', `/subscriptions/s_${t}/lifetime_usage`, { lifetime_usage: { external_historical_usage_amount_cents: 250 } })).lifetime_usage.external_historical_usage_amount_cents).toBe(250);
    const disputed = (await call('POST', '/invoices', { invoice: { external_customer_id: `c_${t}`, fees: [{ add_on_code: `gpu_${s}`, units: '1' }] } })).invoice;
    expect((await call('POST', `/invoices/${disputed.lago_id}/lose_dispute`)).invoice.payment_dispute_lost_at).toEqual(expect.any(String));
  }

  // ---- ops13d (issue 13): wallet metadata by code, wallet alerts, traces, payment methods, usage analytics, expressions
  {
    const t = `o13d_${s}`;
    const pay = payApi.url + '/api/v1';
    const cust = (await call('POST', '/customers', { customer: { external_id: `c_${t}`, currency: 'USD' } }, pay)).customer;
    await call('POST', `/customers/c_${t}/wallets`, { wallet: { name: 'W', code: `w_${t}`, rate_amount: '1', currency: 'USD', granted_credits: '5' } });
    const w = `/customers/c_${t}/wallets/w_${t}`;
    await call('POST', `${w}/metadata`, { metadata: { k: 'v' } });
    await call('PATCH', `${w}/metadata`, { metadata: { k2: 'v2' } });
    expect((await call('DELETE', `${w}/metadata/k`)).metadata).toEqual({ k2: 'v2' });
    await call('DELETE', `${w}/metadata`);
    const one = await call('POST', `${w}/alerts`, { alert: { alert_type: 'wallet_balance_amount', code: `low_${t}`, thresholds: [{ code: 'warn', value: 300 }, { value: 100 }] } });
    expect(one.alert.direction).toBe('decreasing');
    await call('POST', `${w}/alerts`, { alerts: [{ alert_type: 'wallet_credits_balance', code: `cr_${t}`, thresholds: [{ value: '2' }] }] });
    await call('GET', `${w}/alerts`);
    await call('GET', `${w}/alerts/low_${t}`);
    await call('PUT', `${w}/alerts/low_${t}`, { alert: { name: 'Low', thresholds: [{ value: 200 }] } });
    await call('DELETE', `${w}/alerts/low_${t}`);
    expect((await call('DELETE', `${w}/alerts`)).alerts.map((a: any) => a.code)).toEqual([`cr_${t}`]);
    const walletId = (await call('GET', w)).wallet.lago_id;
    const moves = (await call('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: walletId, granted_credits: '1', voided_credits: '2' } })).wallet_transactions;
    const inbound = moves.find((x: any) => x.transaction_type === 'inbound');
    const outbound = moves.find((x: any) => x.transaction_type === 'outbound');
    expect((await call('GET', `/wallet_transactions/${outbound.lago_id}/fundings`)).wallet_transaction_fundings.length).toBeGreaterThan(0);
    await call('GET', `/wallet_transactions/${inbound.lago_id}/consumptions`);
    const { providerCustomerId } = await new StripePaymentProvider(fake.client()).syncCustomer({ customerId: cust.lago_id, externalCustomerId: `c_${t}`, name: null, email: null, providerCustomerId: null });
    await sys.database.db('customers').where({ id: cust.lago_id }).update({ payment_provider: 'stripe', provider_customer_id: providerCustomerId });
    fake.addCard(providerCustomerId);
    fake.attachCard(providerCustomerId);
    const methods = (await call('GET', `/customers/c_${t}/payment_methods`, undefined, pay)).payment_methods;
    expect(methods).toHaveLength(2);
    const other = methods.find((m: any) => !m.is_default);
    expect((await call('PUT', `/customers/c_${t}/payment_methods/${other.lago_id}/set_as_default`, {}, pay)).payment_method.is_default).toBe(true);
    await call('DELETE', `/customers/c_${t}/payment_methods/${methods.find((m: any) => m.lago_id !== other.lago_id).lago_id}`, undefined, pay);
    await call('GET', '/analytics/usage?time_granularity=monthly');
    expect((await call('POST', '/billable_metrics/evaluate_expression', { expression: 'ROUND(event.properties.n * 2)', event: { code: 'x', properties: { n: '1.6' } } })).expression_result.value).toBe('3');
  }

  // ---- ops13f (issue 13): features, plan entitlements, subscription entitlements (overrides on the plan's)
  {
    const t = `o13f_${s}`;
    await call('POST', '/features', { feature: { code: `seats_${t}`, name: 'Seats', privileges: [{ code: 'max', value_type: 'integer' }, { code: 'root', value_type: 'boolean' }, { code: 'idp', value_type: 'select', config: { select_options: ['okta', 'google'] } }, { code: 'note' }] } });
    await call('GET', `/features?search_term=${t}`);
    await call('GET', `/features/seats_${t}`);
    await call('PUT', `/features/seats_${t}`, { feature: { description: 'Users', privileges: [{ code: 'extra', value_type: 'integer' }] } });
    await call('POST', '/plans', { plan: { name: 'Ent', code: `p_${t}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', charges: [] } });
    await call('POST', '/customers', { customer: { external_id: `c_${t}`, currency: 'USD' } });
    await call('POST', '/subscriptions', { subscription: { external_customer_id: `c_${t}`, plan_code: `p_${t}`, external_id: `s_${t}` } });
    await call('POST', `/plans/p_${t}/entitlements`, { entitlements: { [`seats_${t}`]: { max: 10, root: true, idp: 'okta', note: 'n', extra: 1 } } });
    await call('PATCH', `/plans/p_${t}/entitlements`, { entitlements: { [`seats_${t}`]: { max: 12 } } });
    await call('GET', `/plans/p_${t}/entitlements`);
    await call('GET', `/plans/p_${t}/entitlements/seats_${t}`);
    await call('DELETE', `/plans/p_${t}/entitlements/seats_${t}/privileges/note`);
    const merged = (await call('PATCH', `/subscriptions/s_${t}/entitlements`, { entitlements: { [`seats_${t}`]: { max: 20, idp: 'google' } } })).entitlements;
    expect(merged[0].overrides).toEqual({ max: 20, idp: 'google' });
    await call('GET', `/subscriptions/s_${t}/entitlements`);
    await call('DELETE', `/subscriptions/s_${t}/entitlements/seats_${t}/privileges/max`);
    await call('DELETE', `/subscriptions/s_${t}/entitlements/seats_${t}`);
    await call('DELETE', `/features/seats_${t}/privileges/extra`);
    await call('DELETE', `/plans/p_${t}/entitlements/seats_${t}`);
    await call('DELETE', `/features/seats_${t}`);
  }

  // ---- ops13g (issue 13): billing entities, activity logs, API logs, DELETE / retry of invoices
  {
    const t = `o13g_${s}`;
    const entities = (await call('GET', '/billing_entities')).billing_entities;
    const defaultCode = entities.find((e: any) => e.is_default).code;
    await call('GET', `/billing_entities/${defaultCode}`);
    await call('POST', '/billing_entities', { billing_entity: { code: `be_${t}`, name: 'Second', country: 'US' } });
    await call('PUT', `/billing_entities/be_${t}`, { billing_entity: { legal_name: 'Second Inc', billing_configuration: { invoice_footer: 'f' } } });
    // API logs are written asynchronously (about a second): the PUT above appears.
    const logged = await eventually(async () => (await call('GET', '/api_logs?request_paths=/billing_entities/&http_methods[]=put')).api_logs[0], 30_000, 'an API log');
    await call('GET', `/api_logs/${logged.request_id}`);
    // Activity logs: the entity's update, recorded from its answer in the same batches.
    const activity = await eventually(async () => (await call('GET', '/activity_logs?resource_types[]=BillingEntity&activity_types[]=billing_entity.updated')).activity_logs[0], 30_000, 'an activity log');
    await call('GET', `/activity_logs/${activity.activity_id}`);
  }

  // Every mounted route was answered 2xx at least once above and each answer conformed.
  const never = routes.map((r) => key(r.method, r.template)).filter((k) => !exercised.has(k));
  expect(never).toEqual([]);
});
