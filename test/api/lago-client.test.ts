// The official Lago JavaScript client (lago-javascript-client, pinned) against the real Meterline API (HTTP API,
// worker, Postgres, Temporal dev server: the e2e system, because deletions and terminations run through the
// subscription workflows, which need a worker). Two things are proven:
//   1. every method of the client (all groups) is called with placeholder arguments; the methods NOT answered by
//      the unknown-route 404 (`code: "not_found"`) are exactly the ones tools/lago-coverage.ts counts as reaching a
//      route (its static count is what the live API does);
//   2. every method of the groups Meterline serves is called for real, in a customer's path from catalog to paid
//      invoice, and each answer validates against the schema Lago 1.51's OpenAPI documents for that operation and
//      status (ajv, JSON Schema 2020-12, the file's own components).
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { Client as LagoClient } from 'lago-javascript-client';
import { clientCalls, meterlineRoutes, OPENAPI_FILE, routeFor } from '../../tools/lago-coverage';
import { eventually, startSystem, type System } from '../e2e/harness';
import { seedUninvoicedFee } from '../support/uninvoiced-fee';
import { failedInvoiceThroughEngine, startFakeTaxEngineServer } from '../support/fake-tax-engine';

let sys: System;
let lago: any;
const doc = parse(fs.readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, any>>; components: Record<string, unknown> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
/**
 * OpenAPI 3.0's `nullable: true` written beside a `$ref` (no `type`), as Lago 1.51's BillingEntityObject does for
 * `country`: JSON Schema cannot compile it, so it is read as what it means, the reference or null.
 */
function nullableRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableRefs);
  if (node === null || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (o.nullable === true && typeof o.$ref === 'string' && o.type === undefined) {
    const { nullable: _n, $ref, ...rest } = o;
    return { ...rest, anyOf: [{ $ref }, { type: 'null' }] };
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, nullableRefs(v)]));
}
ajv.addSchema({ $id: 'lago', components: nullableRefs(doc.components) });
const DATA_DIR = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'meterline-lago-client-'));
const S = `lc${process.pid}`;

/** The OpenAPI operation of a concrete request (literal segments win over parameters, as in Express). */
function operationOf(method: string, path: string): { template: string; op: any } {
  const candidates = Object.keys(doc.paths)
    .filter((t) => doc.paths[t]![method.toLowerCase()])
    .filter((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  const template = candidates[0];
  if (!template) throw new Error(`no Lago operation for ${method} ${path}`);
  return { template, op: doc.paths[template]![method.toLowerCase()] };
}

/**
 * Answers that do not (yet) validate against Lago 1.51's schemas, and why. Kept exact by the test: fixing one or
 * adding one changes this list (the README's "Lago API coverage" section lists them too).
 */
const KNOWN_DIVERGENCES: Record<string, string> = {
  'subscriptions.createSubscriptionAlert': "billable_metric null on an amount alert (Lago's schema requires a BillableMetricObject; its description, 'only for alerts based on a billable metric', and lago-api's serializer answer null)",
  'subscriptions.getSubscriptionAlerts': 'same',
  'events.createEvent': "an integer property value echoed as sent matches both the integer and the number branch of Lago's `oneOf` (Lago's schema rejects its own integers)",
  'events.createBatchEvents': 'same',
  'events.findEvent': 'same',
  'events.findAllEvents': 'same',
  'customers.findAllCustomerPastUsage': "Meterline's past usage is per metric with imported usage apart, not Lago's CustomerPastUsage (amounts per period)",
  'invoices.invoicePreview': 'a preview stores nothing: lago_id, number, dates and lago_item_id of inline charges are null',
  'payments.createPayment': 'a manual payment has no provider: payment_provider_code/type and provider_customer_id are null',
  'wallets.findWallet': "credits_ongoing_balance negative once usage exceeds the credits (Lago's pattern: unsigned; lago-api accepts negative ongoing balances since PR 1925, and its description defines it as credits_balance − credits_ongoing_usage_balance)",
  'wallets.updateWallet': 'same',
  'wallets.destroyWallet': 'same',
  // ops13a (issue 13): the same serializers as the entries above.
  'payments.findAllPayments': 'a manual payment has no provider: payment_provider_code/type and provider_customer_id are null',
  'payments.findPayment': "same, and answered as {payment: …} where Lago 1.51's schema documents the bare PaymentObject",
  'customers.findAllCustomerPayments': 'same as payments.findAllPayments',
  'paymentReceipts.findAllPaymentReceipts': 'the receipt of a manual payment nests it: null provider fields',
  'paymentReceipts.findPaymentReceipt': 'same',
  'paymentRequests.findPaymentRequest': "answered as {payment_request: …} where Lago 1.51's schema documents the bare PaymentRequestObject",
  'customers.findAllCustomerWallets': 'same as wallets.findWallet',
  'customers.findCustomerWallet': 'same as wallets.findWallet',
  'customers.updateCustomerWallet': 'same as wallets.findWallet',
  'customers.destroyCustomerWallet': 'same as wallets.findWallet',
  // ops13b (issue 13)
  'subscriptions.getSubscriptionAlert': 'as createSubscriptionAlert',
  'subscriptions.updateSubscriptionAlert': 'as createSubscriptionAlert',
  'subscriptions.deleteSubscriptionAlert': 'as createSubscriptionAlert',
  'events.eventEstimateInstantFees': "precise_* amounts as decimal strings (Lago's FeeEstimateObject: numbers), as on every fee",
  'events.eventBatchEstimateInstantFees': 'same',
};

const problems: string[] = [];
const validated = new Set<string>();
/** Every call whose status Lago documents (validated, or a listed divergence). */
const checked = new Set<string>();

/** Validates a client answer (a 2xx, or an error the client throws) against Lago's schema for that status. */
function validate(label: string, method: string, url: string, status: number, body: unknown) {
  const path = new URL(url).pathname.replace(/^\/api\/v1/, '');
  const { op } = operationOf(method, path);
  const response = op.responses?.[String(status)];
  if (!response) {
    problems.push(`${label}: ${method} ${path} → ${status}, which Lago does not document (${Object.keys(op.responses ?? {}).join(', ')})`);
    return;
  }
  checked.add(label);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return; // documented without a JSON body (e.g. the public key as text)
  const ref: string | undefined = schema.$ref;
  // An inline schema's $refs point into the file's components: resolved through the `lago` document.
  let check: ReturnType<typeof ajv.compile> | undefined;
  try {
    check = ref ? ajv.getSchema(`lago${ref}`) : ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"lago#/components/')));
  } catch (err) {
    problems.push(`${label}: ${method} ${path} → ${status}: Lago's schema does not compile: ${(err as Error).message}`);
    return;
  }
  if (!check) throw new Error(`unresolvable ${ref}`);
  if (!check(body)) {
    problems.push(`${label}: ${method} ${path} → ${status} does not conform to ${ref}: ${ajv.errorsText(check.errors, { separator: '; ' })}`);
  } else {
    validated.add(label);
  }
}

/** Calls a client method; returns its data (2xx) or the error body (4xx), validated either way. */
async function call(label: string, fn: () => Promise<any>, expectOk = true): Promise<any> {
  try {
    const res = await fn();
    validate(label, res.method ?? methodOf(res), res.url, res.status, res.data);
    return res.data;
  } catch (err: any) {
    if (!(err && typeof err.status === 'number' && err.url)) throw err;
    if (expectOk) throw new Error(`${label} → ${err.status} ${JSON.stringify(err.error)}`);
    validate(label, methodOf(err), err.url, err.status, err.error);
    return err.error;
  }
}

/** DELETE /invoices/:lago_id as the client answers a call (Lago 1.51's deleteInvoice: no method in the pinned client). */
async function deleteInvoiceRaw(lagoId: string): Promise<{ url: string; status: number; data: unknown; method: string }> {
  const url = `${sys.baseUrl}/invoices/${lagoId}`;
  lastMethod.set(url, 'DELETE');
  const res = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${sys.apiKey}` } });
  const data: unknown = await res.json();
  if (!res.ok) throw Object.assign(new Error(`DELETE ${url} → ${res.status}`), { status: res.status, url, error: data });
  return { url, status: res.status, data, method: 'DELETE' };
}

/** The HTTP method of a response (the client keeps the Request's method on the Response it returns). */
const lastMethod = new Map<string, string>();
function methodOf(res: { url: string }): string {
  return lastMethod.get(res.url) ?? 'GET';
}

beforeAll(async () => {
  process.env.METERLINE_DATA_DIR = DATA_DIR;
  sys = await startSystem('dev-server');
  // The client's own fetch, recording each request's method by URL (Response objects do not carry it).
  const recordingFetch: typeof fetch = (input, init) => {
    lastMethod.set(String(input), (init?.method ?? 'GET').toUpperCase());
    return fetch(input, init);
  };
  lago = LagoClient(sys.apiKey, { baseUrl: sys.baseUrl, customFetch: recordingFetch } as any);
});

afterAll(async () => {
  await sys?.stop();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

test("every client method reaches a route exactly when tools/lago-coverage.ts says it does (the live API's unknown-route 404 decides)", async () => {
  const routes = await meterlineRoutes();
  const calls = clientCalls();
  expect(calls.length).toBeGreaterThan(200);
  const live: string[] = [];
  for (const c of calls) {
    const fn = lago[c.group][c.name] as (...a: unknown[]) => Promise<unknown>;
    // Each argument reads as an id that names nothing in a path (toString) and as an empty object as a body or a
    // query (no enumerable key): a served route answers 4xx for it (or a harmless 200 for a list), never the
    // unknown-route 404; a body that is not JSON would be refused (400) before routing and prove nothing.
    const arg = (i: number) => Object.defineProperty({}, 'toString', { value: () => `none${i}_${S}`, enumerable: false });
    const answer: any = await fn(arg(1), arg(2), arg(3), arg(4), arg(5)).catch((e: any) => e);
    // Methods without a JSON format leave the body unread (error null): read it here.
    const error = answer?.error ?? (typeof answer?.json === 'function' && !answer.bodyUsed ? await answer.json().catch(() => null) : null);
    const unknownRoute = answer?.status === 404 && error?.code === 'not_found';
    if (!unknownRoute) live.push(`${c.group}.${c.name}`);
  }
  const statically = calls.filter((c) => routeFor(routes, c.method, c.path.replace(/p\d/g, 'x')) !== undefined).map((c) => `${c.group}.${c.name}`);
  expect(live.sort()).toEqual(statically.sort());
  expect(live.length).toBeGreaterThanOrEqual(54);
});

test("every method of Meterline's groups, called for real, answers what Lago 1.51's OpenAPI documents", async () => {
  const now = Date.now();
  const ts = Math.floor(now / 1000) - 30;
  const backdated = new Date(now - 40 * 86_400_000).toISOString();

  // Taxes
  await call('taxes.createTax', () => lago.taxes.createTax({ tax: { name: 'VAT', code: `vat_${S}`, rate: '20' } }));
  await call('taxes.createTax (2)', () => lago.taxes.createTax({ tax: { name: 'Tmp', code: `tmp_${S}`, rate: '5' } }));
  await call('taxes.findAllTaxes', () => lago.taxes.findAllTaxes({ page: 1, per_page: 10 }));
  await call('taxes.findTax', () => lago.taxes.findTax(`vat_${S}`));
  await call('taxes.updateTax', () => lago.taxes.updateTax(`tmp_${S}`, { tax: { name: 'Tmp 2', rate: '2.5' } }));
  await call('taxes.destroyTax', () => lago.taxes.destroyTax(`tmp_${S}`));

  // Billable metrics
  const bm = await call('billableMetrics.createBillableMetric', () =>
    lago.billableMetrics.createBillableMetric({ billable_metric: { name: 'Tokens', code: `tok_${S}`, aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['s', 'l'] }] } }),
  );
  await call('billableMetrics.createBillableMetric (2)', () => lago.billableMetrics.createBillableMetric({ billable_metric: { name: 'Calls', code: `calls_${S}`, aggregation_type: 'count_agg' } }));
  await call('billableMetrics.findAllBillableMetrics', () => lago.billableMetrics.findAllBillableMetrics({ page: 1, per_page: 5 }));
  await call('billableMetrics.findBillableMetric', () => lago.billableMetrics.findBillableMetric(`tok_${S}`));
  await call('billableMetrics.updateBillableMetric', () => lago.billableMetrics.updateBillableMetric(`calls_${S}`, { billable_metric: { name: 'API calls', description: 'every call' } }));
  await call('billableMetrics.destroyBillableMetric', () => lago.billableMetrics.destroyBillableMetric(`calls_${S}`));

  // Plans
  const planBody = (code: string) => ({
    plan: {
      name: 'Pro', code, interval: 'monthly', amount_cents: 1500, amount_currency: 'USD', pay_in_advance: false, tax_codes: [`vat_${S}`],
      charges: [{ billable_metric_id: bm.billable_metric.lago_id, charge_model: 'standard', properties: { amount: '0.01' }, filters: [{ invoice_display_name: 'Large', properties: { amount: '0.02' }, values: { model: ['l'] } }] }],
    },
  });
  const plan = await call('plans.createPlan', () => lago.plans.createPlan(planBody(`pro_${S}`)));
  await call('plans.createPlan (2)', () => lago.plans.createPlan(planBody(`old_${S}`)));
  await call('plans.findAllPlans', () => lago.plans.findAllPlans({ page: 1, per_page: 5 }));
  await call('plans.findPlan', () => lago.plans.findPlan(`pro_${S}`));
  const charge = plan.plan.charges[0];
  await call('plans.updatePlan', () =>
    lago.plans.updatePlan(`pro_${S}`, { plan: { amount_cents: 1600, charges: [{ id: charge.lago_id, billable_metric_id: charge.lago_billable_metric_id, charge_model: 'standard', properties: { amount: '0.015' } }] } }),
  );
  // Nested charges and filters, on the plan destroyed next (the rest of the walk sees pro_ as it was).
  const oldCharges = await call('plans.findAllPlanCharges', () => lago.plans.findAllPlanCharges(`old_${S}`, { page: 1, per_page: 5 }));
  const oldCode = oldCharges.charges[0].code;
  await call('plans.findPlanCharge', () => lago.plans.findPlanCharge(`old_${S}`, oldCode));
  await call('plans.createPlanCharge', () => lago.plans.createPlanCharge(`old_${S}`, { charge: { billable_metric_id: bm.billable_metric.lago_id, code: `extra_${S}`, charge_model: 'standard', properties: { amount: '1' } } }));
  await call('plans.updatePlanCharge', () => lago.plans.updatePlanCharge(`old_${S}`, `extra_${S}`, { charge: { properties: { amount: '2' } } }));
  const oldFilters = await call('plans.findAllPlanChargeFilters', () => lago.plans.findAllPlanChargeFilters(`old_${S}`, oldCode, { page: 1, per_page: 5 }));
  await call('plans.findPlanChargeFilter', () => lago.plans.findPlanChargeFilter(`old_${S}`, oldCode, oldFilters.filters[0].lago_id));
  const newFilter = await call('plans.createPlanChargeFilter', () => lago.plans.createPlanChargeFilter(`old_${S}`, `extra_${S}`, { filter: { values: { model: ['l'] }, properties: { amount: '3' } } }));
  await call('plans.updatePlanChargeFilter', () => lago.plans.updatePlanChargeFilter(`old_${S}`, `extra_${S}`, newFilter.filter.lago_id, { filter: { properties: { amount: '4' } } }));
  await call('plans.destroyPlanChargeFilter', () => lago.plans.destroyPlanChargeFilter(`old_${S}`, `extra_${S}`, newFilter.filter.lago_id, { filter: {} }));
  await call('plans.destroyPlanCharge', () => lago.plans.destroyPlanCharge(`old_${S}`, `extra_${S}`, { charge: {} }));
  await call('plans.destroyPlan', () => lago.plans.destroyPlan(`old_${S}`));

  // Customers and subscriptions
  await call('customers.createCustomer', () =>
    lago.customers.createCustomer({ customer: { external_id: `cust_${S}`, name: 'Ada', email: 'ada@example.com', currency: 'USD', timezone: 'UTC', country: 'FR', billing_configuration: { invoice_grace_period: 0 } } }),
  );
  await call('customers.createCustomer (grace)', () => lago.customers.createCustomer({ customer: { external_id: `grace_${S}`, currency: 'USD', billing_configuration: { invoice_grace_period: 5 } } }));
  await call('customers.createCustomer (gone)', () => lago.customers.createCustomer({ customer: { external_id: `gone_${S}`, currency: 'USD' } }));
  await call('customers.findAllCustomers', () => lago.customers.findAllCustomers({ page: 1, per_page: 10 }));
  await call('customers.findCustomer', () => lago.customers.findCustomer(`cust_${S}`));
  await call('subscriptions.createSubscription', () =>
    lago.subscriptions.createSubscription({ subscription: { external_customer_id: `cust_${S}`, plan_code: `pro_${S}`, external_id: `sub_${S}`, subscription_at: backdated, billing_time: 'calendar' } }),
  );
  await call('subscriptions.createSubscription (grace)', () =>
    lago.subscriptions.createSubscription({ subscription: { external_customer_id: `grace_${S}`, plan_code: `pro_${S}`, external_id: `grace_${S}`, subscription_at: backdated } }),
  );
  await call('subscriptions.createSubscription (gone)', () => lago.subscriptions.createSubscription({ subscription: { external_customer_id: `gone_${S}`, plan_code: `pro_${S}`, external_id: `gone_${S}` } }));
  // plan_overrides (Lago's PlanOverridesObject): the subscription keeps the plan's code, billed with its own copy of it.
  const overridden = await call('subscriptions.createSubscription (plan_overrides)', () =>
    lago.subscriptions.createSubscription({
      subscription: { external_customer_id: `grace_${S}`, plan_code: `pro_${S}`, external_id: `ovr_${S}`, plan_overrides: { amount_cents: 1200, charges: [{ id: charge.lago_id, properties: { amount: '0.02' } }] } },
    }),
  );
  expect(overridden.subscription).toMatchObject({ plan_code: `pro_${S}`, plan_amount_cents: 1200 });
  await call('subscriptions.findAllSubscriptions', () => lago.subscriptions.findAllSubscriptions({ external_customer_id: `cust_${S}`, plan_code: `pro_${S}`, 'status[]': ['active'] }));
  await call('subscriptions.findSubscription', () => lago.subscriptions.findSubscription(`sub_${S}`));
  await call('subscriptions.createSubscriptionAlert', () =>
    lago.subscriptions.createSubscriptionAlert(`sub_${S}`, { alert: { alert_type: 'current_usage_amount', code: `spend_${S}`, name: 'Spend', thresholds: [{ value: '100', code: 'warn' }] } }),
  );
  await call('subscriptions.getSubscriptionAlerts', () => lago.subscriptions.getSubscriptionAlerts(`sub_${S}`));

  // Events and usage
  await call('events.createEvent', () => lago.events.createEvent({ event: { transaction_id: `tx1_${S}`, external_subscription_id: `sub_${S}`, code: `tok_${S}`, timestamp: ts, properties: { tokens: 1000, model: 'l' } } }));
  await call('events.createBatchEvents', () =>
    lago.events.createBatchEvents({ events: [{ transaction_id: `tx2_${S}`, external_subscription_id: `sub_${S}`, code: `tok_${S}`, timestamp: ts, properties: { tokens: 500, model: 's' } }] }),
  );
  await call('events.findEvent', () => lago.events.findEvent(`tx1_${S}`));
  await call('events.findAllEvents', () => lago.events.findAllEvents({ external_subscription_id: `sub_${S}`, code: `tok_${S}`, page: 1, per_page: 10 }));
  await call('customers.findCustomerCurrentUsage', () => lago.customers.findCustomerCurrentUsage(`cust_${S}`, { external_subscription_id: `sub_${S}` }));
  await call('customers.findCustomerProjectedUsage', () => lago.customers.findCustomerProjectedUsage(`cust_${S}`, { external_subscription_id: `sub_${S}` }));
  await call('customers.findAllCustomerSubscriptions', () => lago.customers.findAllCustomerSubscriptions(`cust_${S}`, { page: 1, per_page: 5 }));
  await call('customers.findAllCustomerPastUsage', () => lago.customers.findAllCustomerPastUsage(`cust_${S}`, { external_subscription_id: `sub_${S}` }));

  // Invoices, fees, payments
  const finalized = await eventually(async () => (await lago.invoices.findAllInvoices({ external_customer_id: `cust_${S}`, status: 'finalized' })).data.invoices[0], 60_000, 'a finalized invoice');
  await call('invoices.findAllInvoices', () => lago.invoices.findAllInvoices({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('invoices.findInvoice', () => lago.invoices.findInvoice(finalized.lago_id));
  await call('invoices.updateInvoice', () => lago.invoices.updateInvoice(finalized.lago_id, { invoice: { metadata: [{ key: 'po', value: 'PO-7' }] } }));
  await call('invoices.downloadInvoice', () => lago.invoices.downloadInvoice(finalized.lago_id));
  await call('invoices.invoicePreview', () => lago.invoices.invoicePreview({ customer: { external_id: `cust_${S}` }, plan_code: `pro_${S}` }));
  // Every period invoice of the customer finalized (a finalization re-rates its draft and rewrites its fees).
  await eventually(async () => {
    const all = (await lago.invoices.findAllInvoices({ external_customer_id: `cust_${S}`, page: 1, per_page: 20 })).data.invoices;
    return all.length > 0 && all.every((i: any) => i.status === 'finalized') ? true : undefined;
  }, 60_000, 'no draft left');
  const fees = await call('fees.findAllFees', () => lago.fees.findAllFees({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('fees.findFee', () => lago.fees.findFee(fees.fees[0].lago_id));
  // A fee on no invoice (a pay-in-advance charge's, invoiceable false) has its own payment status; an invoiced one refuses it.
  const subscription = (await lago.subscriptions.findSubscription(`sub_${S}`)).data.subscription;
  const instantFee = await seedUninvoicedFee(sys.database.db, { organizationId: (await sys.database.db('subscriptions').where({ id: subscription.lago_id }).first('organization_id')).organization_id, subscriptionId: subscription.lago_id, transactionId: `instant_${S}`, amount: '2', amountCents: 200 });
  await call('fees.findAllFees (no invoice)', () => lago.fees.findAllFees({ event_transaction_id: `instant_${S}` }));
  await call('fees.updateFee', () => lago.fees.updateFee(instantFee, { fee: { payment_status: 'succeeded' } }));
  await call('fees.updateFee (invoiced)', () => lago.fees.updateFee(fees.fees[0].lago_id, { fee: { payment_status: 'succeeded' } }), false);
  await call('payments.createPayment', () => lago.payments.createPayment({ payment: { invoice_id: finalized.lago_id, amount_cents: 1, reference: `wire_${S}` } }));
  // No payment provider is connected: Lago's documented errors, not 2xx.
  await call('invoices.invoicePaymentUrl', () => lago.invoices.invoicePaymentUrl(finalized.lago_id), false);
  await call('customers.generateCustomerCheckoutUrl', () => lago.customers.generateCustomerCheckoutUrl(`cust_${S}`), false);
  await call('invoices.retryPayment', () => lago.invoices.retryPayment(finalized.lago_id), false);
  const draft = await eventually(async () => (await lago.invoices.findAllInvoices({ external_customer_id: `grace_${S}`, status: 'draft' })).data.invoices[0], 60_000, 'a draft in its grace period');
  await call('invoices.refreshInvoice', () => lago.invoices.refreshInvoice(draft.lago_id));
  await call('invoices.finalizeInvoice', () => lago.invoices.finalizeInvoice(draft.lago_id));
  await call('invoices.voidInvoice', () => lago.invoices.voidInvoice(draft.lago_id));
  // del13 (issue 13): Lago 1.51's deleteInvoice has no method in lago-javascript-client 1.50.0 (the operation is newer):
  // the same request the client would send, through the client's recording fetch, validated the same way.
  await call('subscriptions.createSubscription (to delete its draft)', () =>
    lago.subscriptions.createSubscription({ subscription: { external_customer_id: `grace_${S}`, plan_code: `pro_${S}`, external_id: `gdel_${S}`, subscription_at: backdated } }),
  );
  const doomed = await eventually(async () => (await lago.invoices.findAllInvoices({ external_subscription_id: `gdel_${S}`, status: 'draft' })).data.invoices[0], 60_000, 'a second draft in its grace period');
  const deleted = await call('invoices.deleteInvoice (1.51, no client method)', () => deleteInvoiceRaw(doomed.lago_id));
  expect(deleted.invoice).toMatchObject({ lago_id: doomed.lago_id, status: 'deleted' });
  expect(await call('invoices.deleteInvoice (1.51, voided: 405)', () => deleteInvoiceRaw(draft.lago_id), false)).toMatchObject({ status: 405, code: 'not_deletable' });
  // failed13: a failed invoice (the tax engine cannot place the address), retried through the official client: the
  // engine is off by then, so the retry finalizes it.
  const taxEngine = await startFakeTaxEngineServer();
  try {
    const failedId = await failedInvoiceThroughEngine(sys.request, taxEngine, { externalId: `nowhere_${S}`, planCode: `pro_${S}`, subscriptionAt: backdated });
    expect((await call('invoices.retryInvoice', () => lago.invoices.retryInvoice(failedId))).invoice.status).toBe('finalized');
  } finally {
    await taxEngine.close();
  }

  // Webhook endpoints and keys
  const endpoint = await call('webhookEndpoints.createWebhookEndpoint', () => lago.webhookEndpoints.createWebhookEndpoint({ webhook_endpoint: { webhook_url: 'https://hooks.example.test/lago', signature_algo: 'hmac' } }));
  await call('webhookEndpoints.findAllWebhookEndpoints', () => lago.webhookEndpoints.findAllWebhookEndpoints({ page: 1, per_page: 5 }));
  await call('webhookEndpoints.findWebhookEndpoint', () => lago.webhookEndpoints.findWebhookEndpoint(endpoint.webhook_endpoint.lago_id));
  await call('webhookEndpoints.updateWebhookEndpoint', () => lago.webhookEndpoints.updateWebhookEndpoint(endpoint.webhook_endpoint.lago_id, { webhook_endpoint: { webhook_url: 'https://hooks.example.test/lago2', signature_algo: 'jwt' } }));
  await call('webhookEndpoints.destroyWebhookEndpoint', () => lago.webhookEndpoints.destroyWebhookEndpoint(endpoint.webhook_endpoint.lago_id));
  await call('webhooks.fetchPublicKey', () => lago.webhooks.fetchPublicKey({ format: 'text' }));
  await call('webhooks.fetchJsonPublicKey', () => lago.webhooks.fetchJsonPublicKey());

  // Subscription update (Lago's PUT /subscriptions/:external_id)
  await call('subscriptions.updateSubscription', () => lago.subscriptions.updateSubscription(`grace_${S}`, { subscription: { name: 'Graceful' } }));

  // Wallets and wallet transactions
  const wallet = await call('wallets.createWallet', () => lago.wallets.createWallet({ wallet: { external_customer_id: `cust_${S}`, name: 'Prepaid', rate_amount: '1', currency: 'USD', granted_credits: '10' } }));
  await call('wallets.findAllWallets', () => lago.wallets.findAllWallets({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('wallets.findWallet', () => lago.wallets.findWallet(wallet.wallet.lago_id));
  await call('wallets.updateWallet', () => lago.wallets.updateWallet(wallet.wallet.lago_id, { wallet: { name: 'Prepaid credits', priority: 5 } }));
  const topUp = await call('walletTransactions.createWalletTransaction', () => lago.walletTransactions.createWalletTransaction({ wallet_transaction: { wallet_id: wallet.wallet.lago_id, granted_credits: '5' } }));
  await call('wallets.findAllWalletTransactions', () => lago.wallets.findAllWalletTransactions(wallet.wallet.lago_id, { page: 1, per_page: 5 }));
  await call('walletTransactions.findWalletTransaction', () => lago.walletTransactions.findWalletTransaction(topUp.wallet_transactions[0].lago_id));
  await call('wallets.destroyWallet', () => lago.wallets.destroyWallet(wallet.wallet.lago_id));

  // Coupons and applied coupons
  await call('coupons.createCoupon', () => lago.coupons.createCoupon({ coupon: { name: 'Ten', code: `ten_${S}`, coupon_type: 'percentage', percentage_rate: '10', frequency: 'once', expiration: 'no_expiration' } }));
  await call('coupons.findAllCoupons', () => lago.coupons.findAllCoupons({ page: 1, per_page: 5 }));
  await call('coupons.findCoupon', () => lago.coupons.findCoupon(`ten_${S}`));
  await call('coupons.updateCoupon', () => lago.coupons.updateCoupon(`ten_${S}`, { coupon: { name: 'Ten percent' } }));
  const applied = await call('appliedCoupons.applyCoupon', () => lago.appliedCoupons.applyCoupon({ applied_coupon: { external_customer_id: `grace_${S}`, coupon_code: `ten_${S}` } }));
  await call('appliedCoupons.findAllAppliedCoupons', () => lago.appliedCoupons.findAllAppliedCoupons({ external_customer_id: `grace_${S}`, page: 1, per_page: 5 }));
  await call('customers.deleteAppliedCoupon', () => lago.customers.deleteAppliedCoupon(`grace_${S}`, applied.applied_coupon.lago_id));
  await call('coupons.destroyCoupon', () => lago.coupons.destroyCoupon(`ten_${S}`));

  // Add-ons, a one-off invoice, credit notes
  await call('addOns.createAddOn', () => lago.addOns.createAddOn({ add_on: { name: 'GPU hours', code: `gpu_${S}`, amount_cents: 10_000, amount_currency: 'USD', tax_codes: [`vat_${S}`] } }));
  await call('addOns.findAllAddOns', () => lago.addOns.findAllAddOns({ page: 1, per_page: 5 }));
  await call('addOns.findAddOn', () => lago.addOns.findAddOn(`gpu_${S}`));
  await call('addOns.updateAddOn', () => lago.addOns.updateAddOn(`gpu_${S}`, { add_on: { description: '100 GPU-hours' } }));
  const oneOff = await call('invoices.createInvoice', () => lago.invoices.createInvoice({ invoice: { external_customer_id: `cust_${S}`, currency: 'USD', fees: [{ add_on_code: `gpu_${S}`, units: '1' }] } }));
  const items = [{ fee_id: oneOff.invoice.fees[0].lago_id, amount_cents: 1000 }];
  await call('creditNotes.estimateCreditNote', () => lago.creditNotes.estimateCreditNote({ credit_note: { invoice_id: oneOff.invoice.lago_id, items } }));
  const note = await call('creditNotes.createCreditNote', () => lago.creditNotes.createCreditNote({ credit_note: { invoice_id: oneOff.invoice.lago_id, reason: 'other', credit_amount_cents: 1200, refund_amount_cents: 0, items } }));
  await call('creditNotes.findAllCreditNotes', () => lago.creditNotes.findAllCreditNotes({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('creditNotes.findCreditNote', () => lago.creditNotes.findCreditNote(note.credit_note.lago_id));
  await call('creditNotes.downloadCreditNote', () => lago.creditNotes.downloadCreditNote(note.credit_note.lago_id));
  await call('creditNotes.voidCreditNote', () => lago.creditNotes.voidCreditNote(note.credit_note.lago_id));
  await call('addOns.destroyAddOn', () => lago.addOns.destroyAddOn(`gpu_${S}`));

  // Portal link and analytics
  await call('customers.getCustomerPortalUrl', () => lago.customers.getCustomerPortalUrl(`cust_${S}`));
  await call('analytics.findAllGrossRevenues', () => lago.analytics.findAllGrossRevenues({ currency: 'USD' }));
  await call('analytics.findAllInvoicedUsages', () => lago.analytics.findAllInvoicedUsages({ currency: 'USD' }));
  await call('analytics.findAllMrrs', () => lago.analytics.findAllMrrs({ currency: 'USD' }));
  await call('analytics.findAllOverdueBalances', () => lago.analytics.findAllOverdueBalances({ currency: 'USD' }));

  // Customer-and-money operations (issue 13, ops13a): the customer's lists, payments and receipts, a payment request
  // of the overdue invoice, a wallet by its code, a fee on no invoice deleted.
  await call('customers.findAllCustomerInvoices', () => lago.customers.findAllCustomerInvoices(`cust_${S}`, { page: 1, per_page: 5, payment_status: 'pending' }));
  await call('customers.findAllCustomerCreditNotes', () => lago.customers.findAllCustomerCreditNotes(`cust_${S}`, { page: 1, per_page: 5 }));
  await call('customers.findAllCustomerAppliedCoupons', () => lago.customers.findAllCustomerAppliedCoupons(`grace_${S}`, { page: 1, per_page: 5 }));
  const payments = await call('payments.findAllPayments', () => lago.payments.findAllPayments({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('payments.findPayment', () => lago.payments.findPayment(payments.payments[0].lago_id));
  await call('customers.findAllCustomerPayments', () => lago.customers.findAllCustomerPayments(`cust_${S}`, { page: 1, per_page: 5 }));
  const receipts = await call('paymentReceipts.findAllPaymentReceipts', () => lago.paymentReceipts.findAllPaymentReceipts({ invoice_id: finalized.lago_id }));
  await call('paymentReceipts.findPaymentReceipt', () => lago.paymentReceipts.findPaymentReceipt(receipts.payment_receipts[0].lago_id));
  await sys.database.db('invoices').where({ id: finalized.lago_id }).update({ payment_overdue: true }); // as the overdue check marks it
  const paymentRequest = await call('paymentRequests.createPaymentRequest', () =>
    lago.paymentRequests.createPaymentRequest({ payment_request: { external_customer_id: `cust_${S}`, email: 'ada@example.com', lago_invoice_ids: [finalized.lago_id] } }),
  );
  await call('paymentRequests.findAllPaymentRequests', () => lago.paymentRequests.findAllPaymentRequests({ external_customer_id: `cust_${S}`, page: 1, per_page: 5 }));
  await call('paymentRequests.findPaymentRequest', () => lago.paymentRequests.findPaymentRequest(paymentRequest.payment_request.lago_id));
  await call('customers.findAllCustomerPaymentRequests', () => lago.customers.findAllCustomerPaymentRequests(`cust_${S}`, { page: 1, per_page: 5 }));
  await call('customers.createCustomerWallet', () => lago.customers.createCustomerWallet(`cust_${S}`, { wallet: { external_customer_id: `cust_${S}`, name: 'By code', code: `bycode_${S}`, rate_amount: '1', currency: 'USD', granted_credits: '3' } }));
  await call('customers.findAllCustomerWallets', () => lago.customers.findAllCustomerWallets(`cust_${S}`, { page: 1, per_page: 5 }));
  await call('customers.findCustomerWallet', () => lago.customers.findCustomerWallet(`cust_${S}`, `bycode_${S}`));
  await call('customers.updateCustomerWallet', () => lago.customers.updateCustomerWallet(`cust_${S}`, `bycode_${S}`, { wallet: { name: 'By code, renamed' } }));
  const byCode = (await lago.customers.findCustomerWallet(`cust_${S}`, `bycode_${S}`)).data.wallet.lago_id;
  const purchase = await call('walletTransactions.createWalletTransaction (purchase)', () =>
    lago.walletTransactions.createWalletTransaction({ wallet_transaction: { wallet_id: byCode, paid_credits: '2', invoice_requires_successful_payment: true } }),
  );
  // No payment provider is connected: Lago's documented 422.
  await call('walletTransactions.walletTransactionPaymentUrl', () => lago.walletTransactions.walletTransactionPaymentUrl(purchase.wallet_transactions[0].lago_id), false);
  await call('customers.destroyCustomerWallet', () => lago.customers.destroyCustomerWallet(`cust_${S}`, `bycode_${S}`));
  await call('fees.deleteFee', () => lago.fees.deleteFee(instantFee));
  await call('fees.deleteFee (invoiced)', () => lago.fees.deleteFee(fees.fees[0].lago_id), false);

  // Organization, then the deletions (through the subscription workflows)
  await call('organizations.updateOrganization', () => lago.organizations.updateOrganization({ organization: { timezone: 'UTC', net_payment_term: 0 } }));
  await call('subscriptions.destroySubscription', () => lago.subscriptions.destroySubscription(`sub_${S}`));
  await call('customers.destroyCustomer', () => lago.customers.destroyCustomer(`gone_${S}`));

  // ops13b (issue 13): alert edits by code, metadata of plans / credit notes / wallets, PUT /credit_notes, fee estimates.
  const seat13 = await call('billableMetrics.createBillableMetric (ops13b)', () => lago.billableMetrics.createBillableMetric({ billable_metric: { name: 'Seats', code: `seat13b_${S}`, aggregation_type: 'sum_agg', field_name: 'n' } }));
  await call('plans.createPlan (ops13b)', () =>
    lago.plans.createPlan({ plan: { name: 'Advance', code: `adv13b_${S}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', charges: [{ billable_metric_id: seat13.billable_metric.lago_id, charge_model: 'standard', pay_in_advance: true, invoiceable: false, properties: { amount: '2' } }] } }),
  );
  // Set-up through methods whose answers are listed divergences: called directly, not validated again here.
  await call('customers.createCustomer (ops13b)', () => lago.customers.createCustomer({ customer: { external_id: `c13b_${S}`, currency: 'USD' } }));
  await call('subscriptions.createSubscription (ops13b)', () => lago.subscriptions.createSubscription({ subscription: { external_customer_id: `c13b_${S}`, plan_code: `adv13b_${S}`, external_id: `s13b_${S}` } }));
  await lago.subscriptions.createSubscriptionAlert(`s13b_${S}`, { alert: { alert_type: 'current_usage_amount', code: `a13b_${S}`, thresholds: [{ value: '10' }] } });
  await lago.subscriptions.createSubscriptionAlert(`s13b_${S}`, { alert: { alert_type: 'current_usage_amount', code: `b13b_${S}`, thresholds: [{ value: '20' }] } });
  await call('subscriptions.getSubscriptionAlert', () => lago.subscriptions.getSubscriptionAlert(`s13b_${S}`, `a13b_${S}`));
  await call('subscriptions.updateSubscriptionAlert', () => lago.subscriptions.updateSubscriptionAlert(`s13b_${S}`, `a13b_${S}`, { alert: { name: 'Spend', thresholds: [{ value: '15', code: 'warn' }] } }));
  await call('subscriptions.deleteSubscriptionAlert', () => lago.subscriptions.deleteSubscriptionAlert(`s13b_${S}`, `a13b_${S}`));
  await call('subscriptions.deleteAllSubscriptionAlerts', () => lago.subscriptions.deleteAllSubscriptionAlerts(`s13b_${S}`));
  await call('plans.replacePlanMetadata', () => lago.plans.replacePlanMetadata(`adv13b_${S}`, { metadata: { crm: 'X', tier: null } }));
  await call('plans.mergePlanMetadata', () => lago.plans.mergePlanMetadata(`adv13b_${S}`, { metadata: { tier: 'gold' } }));
  await call('plans.deletePlanMetadataKey', () => lago.plans.deletePlanMetadataKey(`adv13b_${S}`, 'crm'));
  await call('plans.deleteAllPlanMetadata', () => lago.plans.deleteAllPlanMetadata(`adv13b_${S}`));
  const w13 = (await lago.wallets.createWallet({ wallet: { external_customer_id: `c13b_${S}`, name: 'W', rate_amount: '1', currency: 'USD', granted_credits: '1' } })).data;
  await call('wallets.replaceWalletMetadata', () => lago.wallets.replaceWalletMetadata(w13.wallet.lago_id, { metadata: { k: 'v' } }));
  await call('wallets.mergeWalletMetadata', () => lago.wallets.mergeWalletMetadata(w13.wallet.lago_id, { metadata: { k2: 'v2' } }));
  await call('wallets.deleteWalletMetadataKey', () => lago.wallets.deleteWalletMetadataKey(w13.wallet.lago_id, 'k'));
  await call('wallets.deleteAllWalletMetadata', () => lago.wallets.deleteAllWalletMetadata(w13.wallet.lago_id));
  await call('addOns.createAddOn (ops13b)', () => lago.addOns.createAddOn({ add_on: { name: 'Pack', code: `pack13b_${S}`, amount_cents: 5000, amount_currency: 'USD' } }));
  const inv13 = await call('invoices.createInvoice (ops13b)', () => lago.invoices.createInvoice({ invoice: { external_customer_id: `c13b_${S}`, currency: 'USD', fees: [{ add_on_code: `pack13b_${S}`, units: '1' }] } }));
  await lago.payments.createPayment({ payment: { invoice_id: inv13.invoice.lago_id, amount_cents: inv13.invoice.total_amount_cents, reference: `r13b_${S}` } });
  const cn13 = (await lago.creditNotes.createCreditNote({ credit_note: { invoice_id: inv13.invoice.lago_id, reason: 'other', credit_amount_cents: 0, refund_amount_cents: 1000, items: [{ fee_id: inv13.invoice.fees[0].lago_id, amount_cents: 1000 }] } })).data;
  await call('creditNotes.replaceCreditNoteMetadata', () => lago.creditNotes.replaceCreditNoteMetadata(cn13.credit_note.lago_id, { metadata: { ticket: 'T' } }));
  await call('creditNotes.mergeCreditNoteMetadata', () => lago.creditNotes.mergeCreditNoteMetadata(cn13.credit_note.lago_id, { metadata: { bank: 'B' } }));
  await call('creditNotes.deleteCreditNoteMetadataKey', () => lago.creditNotes.deleteCreditNoteMetadataKey(cn13.credit_note.lago_id, 'ticket'));
  const updatedNote = await call('creditNotes.updateCreditNote', () => lago.creditNotes.updateCreditNote(cn13.credit_note.lago_id, { credit_note: { refund_status: 'succeeded' } }));
  expect(updatedNote.credit_note).toMatchObject({ refund_status: 'succeeded', metadata: { bank: 'B' } });
  await call('creditNotes.deleteAllCreditNoteMetadata', () => lago.creditNotes.deleteAllCreditNoteMetadata(cn13.credit_note.lago_id));
  const ev13 = { code: `seat13b_${S}`, external_subscription_id: `s13b_${S}`, transaction_id: `e13b_${S}`, properties: { n: 3 } };
  const estimated = await call('events.eventEstimateFees', () => lago.events.eventEstimateFees({ event: ev13 }));
  expect(estimated.fees.map((f: any) => f.amount_cents)).toEqual([600]);
  await call('events.eventEstimateInstantFees', () => lago.events.eventEstimateInstantFees({ event: ev13 }));
  await call('events.eventBatchEstimateInstantFees', () => lago.events.eventBatchEstimateInstantFees({ events: [{ event: ev13 }] }));
  await call('analytics.findAllInvoiceCollections', () => lago.analytics.findAllInvoiceCollections({ currency: 'USD' }));

  // ops13c (issue 13): a subscription's charges and their overrides, lifetime usage, lose_dispute.
  const m13c = await call('billableMetrics.createBillableMetric (ops13c)', () =>
    lago.billableMetrics.createBillableMetric({ billable_metric: { name: 'Req', code: `req13c_${S}`, aggregation_type: 'sum_agg', field_name: 'n', filters: [{ key: 'tier', values: ['a', 'b'] }] } }),
  );
  await call('plans.createPlan (ops13c)', () =>
    lago.plans.createPlan({ plan: { name: 'Ovr', code: `ovr13c_${S}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', usage_thresholds: [{ amount_cents: 10_000 }], charges: [{ billable_metric_id: m13c.billable_metric.lago_id, charge_model: 'standard', properties: { amount: '1' }, filters: [{ values: { tier: ['a'] }, properties: { amount: '2' } }] }] } }),
  );
  await lago.subscriptions.createSubscription({ subscription: { external_customer_id: `c13b_${S}`, plan_code: `ovr13c_${S}`, external_id: `s13c_${S}` } });
  const code13c = (await call('subscriptions.findAllSubscriptionCharges', () => lago.subscriptions.findAllSubscriptionCharges(`s13c_${S}`, { page: 1, per_page: 5 }))).charges[0].code;
  await call('subscriptions.findSubscriptionCharge', () => lago.subscriptions.findSubscriptionCharge(`s13c_${S}`, code13c, {}));
  const own = await call('subscriptions.overrideSubscriptionCharge', () => lago.subscriptions.overrideSubscriptionCharge(`s13c_${S}`, code13c, { charge: { properties: { amount: '3' }, invoice_display_name: 'Own price' } }, {}));
  expect(own.charge.properties).toEqual({ amount: '3' });
  const f13c = (await call('subscriptions.findAllSubscriptionChargeFilters', () => lago.subscriptions.findAllSubscriptionChargeFilters(`s13c_${S}`, code13c, { page: 1, per_page: 5 }))).filters[0];
  await call('subscriptions.findSubscriptionChargeFilter', () => lago.subscriptions.findSubscriptionChargeFilter(`s13c_${S}`, code13c, f13c.lago_id, {}));
  await call('subscriptions.updateSubscriptionChargeFilter', () => lago.subscriptions.updateSubscriptionChargeFilter(`s13c_${S}`, code13c, f13c.lago_id, { filter: { properties: { amount: '4' } } }, {}));
  const added13c = await call('subscriptions.createSubscriptionChargeFilter', () => lago.subscriptions.createSubscriptionChargeFilter(`s13c_${S}`, code13c, { filter: { values: { tier: ['b'] }, properties: { amount: '5' } } }, {}));
  await call('subscriptions.destroySubscriptionChargeFilter', () => lago.subscriptions.destroySubscriptionChargeFilter(`s13c_${S}`, code13c, added13c.filter.lago_id, {}));
  await call('subscriptions.getSubscriptionLifetimeUsage', () => lago.subscriptions.getSubscriptionLifetimeUsage(`s13c_${S}`));
  await call('subscriptions.updateSubscriptionLifetimeUsage', () => lago.subscriptions.updateSubscriptionLifetimeUsage(`s13c_${S}`, { lifetime_usage: { external_historical_usage_amount_cents: 250 } }));
  const lost = await call('invoices.loseDisputeInvoice', () => lago.invoices.loseDisputeInvoice(inv13.invoice.lago_id));
  expect(lost.invoice.payment_dispute_lost_at).toEqual(expect.any(String));

  // fixed13 (issues 11 + 13): a plan's fixed charges and a subscription's units of them.
  await lago.addOns.createAddOn({ add_on: { name: 'Seats', code: `seat13f_${S}`, amount_cents: 1000, amount_currency: 'USD' } });
  await lago.plans.createPlan({ plan: { name: 'Fixed', code: `fx13f_${S}`, interval: 'monthly', amount_cents: 0, amount_currency: 'USD', charges: [] } });
  const fc = await call('plans.createPlanFixedCharge', () =>
    lago.plans.createPlanFixedCharge(`fx13f_${S}`, { fixed_charge: { add_on_code: `seat13f_${S}`, code: `fxs13f_${S}`, charge_model: 'standard', units: '3', properties: { amount: '10' } } } as any),
  );
  expect(fc.fixed_charge).toMatchObject({ code: `fxs13f_${S}`, units: 3 });
  await call('plans.findAllPlanFixedCharges', () => lago.plans.findAllPlanFixedCharges(`fx13f_${S}`, { page: 1, per_page: 5 } as any));
  await call('plans.findPlanFixedCharge', () => lago.plans.findPlanFixedCharge(`fx13f_${S}`, `fxs13f_${S}`));
  await call('plans.updatePlanFixedCharge', () => lago.plans.updatePlanFixedCharge(`fx13f_${S}`, `fxs13f_${S}`, { fixed_charge: { units: '4' } } as any));
  await lago.subscriptions.createSubscription({ subscription: { external_customer_id: `c13b_${S}`, plan_code: `fx13f_${S}`, external_id: `s13f_${S}` } });
  await call('subscriptions.findAllSubscriptionFixedCharges', () => lago.subscriptions.findAllSubscriptionFixedCharges(`s13f_${S}`, {} as any));
  await call('subscriptions.findSubscriptionFixedCharge', () => lago.subscriptions.findSubscriptionFixedCharge(`s13f_${S}`, `fxs13f_${S}`, {} as any));
  const units = await call('subscriptions.overrideSubscriptionFixedCharge', () =>
    lago.subscriptions.overrideSubscriptionFixedCharge(`s13f_${S}`, `fxs13f_${S}`, { fixed_charge: { units: '5', apply_units_immediately: true } } as any, {} as any),
  );
  expect(units.fixed_charge.units).toBe(5);
  await call('plans.destroyPlanFixedCharge', () => lago.plans.destroyPlanFixedCharge(`fx13f_${S}`, `fxs13f_${S}`, {} as any));
  // ops13d (issue 13): wallet metadata by code, wallet alerts, wallet transaction traces, payment methods, usage, expressions.
  const c13d = (await lago.customers.createCustomer({ customer: { external_id: `c13d_${S}`, currency: 'USD' } })).data as any;
  await lago.customers.createCustomerWallet(`c13d_${S}`, { wallet: { name: 'W', code: `w13d_${S}`, rate_amount: '1', currency: 'USD', granted_credits: '5' } } as any);
  await call('customers.replaceCustomerWalletMetadata', () => lago.customers.replaceCustomerWalletMetadata(`c13d_${S}`, `w13d_${S}`, { metadata: { k: 'v' } }));
  await call('customers.mergeCustomerWalletMetadata', () => lago.customers.mergeCustomerWalletMetadata(`c13d_${S}`, `w13d_${S}`, { metadata: { k2: 'v2' } }));
  await call('customers.deleteCustomerWalletMetadataKey', () => lago.customers.deleteCustomerWalletMetadataKey(`c13d_${S}`, `w13d_${S}`, 'k'));
  await call('customers.deleteAllCustomerWalletMetadata', () => lago.customers.deleteAllCustomerWalletMetadata(`c13d_${S}`, `w13d_${S}`));
  const wa13 = await call('customers.createCustomerWalletAlert', () => lago.customers.createCustomerWalletAlert(`c13d_${S}`, `w13d_${S}`, { alert: { alert_type: 'wallet_balance_amount', code: `wa13d_${S}`, thresholds: [{ value: '300' }] } } as any));
  expect(wa13.alert.direction).toBe('decreasing');
  await call('customers.getCustomerWalletAlerts', () => lago.customers.getCustomerWalletAlerts(`c13d_${S}`, `w13d_${S}`));
  await call('customers.getCustomerWalletAlert', () => lago.customers.getCustomerWalletAlert(`c13d_${S}`, `w13d_${S}`, `wa13d_${S}`));
  await call('customers.updateCustomerWalletAlert', () => lago.customers.updateCustomerWalletAlert(`c13d_${S}`, `w13d_${S}`, `wa13d_${S}`, { alert: { thresholds: [{ value: '200' }] } } as any));
  await call('customers.deleteCustomerWalletAlert', () => lago.customers.deleteCustomerWalletAlert(`c13d_${S}`, `w13d_${S}`, `wa13d_${S}`));
  await call('customers.deleteAllCustomerWalletAlerts', () => lago.customers.deleteAllCustomerWalletAlerts(`c13d_${S}`, `w13d_${S}`));
  const w13d = (await lago.customers.findCustomerWallet(`c13d_${S}`, `w13d_${S}`)).data as any;
  const mv13d = (await lago.walletTransactions.createWalletTransaction({ wallet_transaction: { wallet_id: w13d.wallet.lago_id, granted_credits: '1', voided_credits: '2' } } as any)).data.wallet_transactions;
  await call('walletTransactions.findAllWalletTransactionConsumptions', () => lago.walletTransactions.findAllWalletTransactionConsumptions(mv13d.find((x: any) => x.transaction_type === 'inbound').lago_id));
  await call('walletTransactions.findAllWalletTransactionFundings', () => lago.walletTransactions.findAllWalletTransactionFundings(mv13d.find((x: any) => x.transaction_type === 'outbound').lago_id));
  // Payment methods without a payment provider: the stored rows answer (as synced from Stripe on a list).
  const org13d = (await sys.database.db('customers').where({ id: c13d.customer.lago_id }).first('organization_id')).organization_id;
  const [pmA, pmB] = await sys.database.db('customer_payment_methods').insert([
    { organization_id: org13d, customer_id: c13d.customer.lago_id, provider_type: 'stripe', provider_method_id: `pm_a13d_${S}`, is_default: true },
    { organization_id: org13d, customer_id: c13d.customer.lago_id, provider_type: 'stripe', provider_method_id: `pm_b13d_${S}`, is_default: false },
  ], ['id']);
  expect((await call('customers.findAllCustomersPaymentMethods', () => lago.customers.findAllCustomersPaymentMethods(`c13d_${S}`))).payment_methods).toHaveLength(2);
  await call('customers.paymentMethodSetAsDefault', () => lago.customers.paymentMethodSetAsDefault(pmB.id, `c13d_${S}`));
  await call('customers.destroyPaymentMethod', () => lago.customers.destroyPaymentMethod(pmA.id, `c13d_${S}`));
  await call('analytics.findAllUsages', () => lago.analytics.findAllUsages({ time_granularity: 'monthly' } as any));
  await call('billableMetrics.evaluateBillableMetricExpression', () => lago.billableMetrics.evaluateBillableMetricExpression({ expression: 'ROUND(event.properties.n * 2)', event: { code: 'x', properties: { n: '1.6' } } } as any));

  // ops13f (issue 13): features with privileges, a plan's entitlements, a subscription's overrides of them.
  const f13f = await call('features.createFeature', () =>
    lago.features.createFeature({ feature: { code: `seats13f_${S}`, name: 'Seats', privileges: [{ code: 'max', name: 'Max', value_type: 'integer' }, { code: 'root', value_type: 'boolean' }, { code: 'idp', value_type: 'select', config: { select_options: ['okta', 'google'] } }] } }),
  );
  expect(f13f.feature.privileges.map((p: any) => p.code)).toEqual(['max', 'root', 'idp']);
  await call('features.findAllFeatures', () => lago.features.findAllFeatures({ page: 1, per_page: 10, search_term: `seats13f_${S}` }));
  await call('features.findFeature', () => lago.features.findFeature(`seats13f_${S}`));
  await call('features.updateFeature', () => lago.features.updateFeature(`seats13f_${S}`, { feature: { description: 'Users', privileges: [{ code: 'extra', value_type: 'integer' }] } }));
  await lago.plans.createPlan({ plan: { name: 'Ent', code: `ent13f_${S}`, interval: 'monthly', amount_cents: 100, amount_currency: 'USD', charges: [] } });
  await lago.subscriptions.createSubscription({ subscription: { external_customer_id: `c13d_${S}`, plan_code: `ent13f_${S}`, external_id: `s13f_ent_${S}` } });
  const ents = { [`seats13f_${S}`]: { max: 10, root: true, idp: 'okta', extra: 1 } };
  await call('plans.createEntitlement', () => lago.plans.createEntitlement(`ent13f_${S}`, { entitlements: ents }));
  await call('plans.updateEntitlement', () => lago.plans.updateEntitlement(`ent13f_${S}`, { entitlements: { [`seats13f_${S}`]: { max: 12 } } }));
  await call('plans.findAllEntitlements', () => lago.plans.findAllEntitlements(`ent13f_${S}`));
  await call('plans.findEntitlement', () => lago.plans.findEntitlement(`ent13f_${S}`, `seats13f_${S}`));
  await call('plans.removeEntitlementPrivilege', () => lago.plans.removeEntitlementPrivilege(`ent13f_${S}`, `seats13f_${S}`, 'extra'));
  const sub13f = await call('subscriptions.updateSubscriptionEntitlements', () => lago.subscriptions.updateSubscriptionEntitlements(`s13f_ent_${S}`, { entitlements: { [`seats13f_${S}`]: { max: 20, idp: 'google' } } }, {}));
  expect(sub13f.entitlements[0].overrides).toEqual({ max: 20, idp: 'google' });
  await call('subscriptions.findAllSubscriptionEntitlements', () => lago.subscriptions.findAllSubscriptionEntitlements(`s13f_ent_${S}`, {}));
  await call('subscriptions.destroySubscriptionEntitlementPrivilege', () => lago.subscriptions.destroySubscriptionEntitlementPrivilege(`s13f_ent_${S}`, `seats13f_${S}`, 'max', {}));
  await call('subscriptions.destroySubscriptionEntitlement', () => lago.subscriptions.destroySubscriptionEntitlement(`s13f_ent_${S}`, `seats13f_${S}`, {}));
  await call('features.deleteFeaturePrivilege', () => lago.features.deleteFeaturePrivilege(`seats13f_${S}`, 'extra'));
  await call('plans.destroyEntitlement', () => lago.plans.destroyEntitlement(`ent13f_${S}`, `seats13f_${S}`));
  await call('features.destroyFeature', () => lago.features.destroyFeature(`seats13f_${S}`));
  // ops13g (issue 13): billing entities (the default one is the organization), activity logs, API logs, invoice retry.
  const entities13g = await call('billingEntities.listBillingEntities', () => lago.billingEntities.listBillingEntities());
  const default13g = entities13g.billing_entities.find((e: any) => e.is_default).code;
  await call('billingEntities.getBillingEntity', () => lago.billingEntities.getBillingEntity(default13g));
  await call('billingEntities.createBillingEntity', () => lago.billingEntities.createBillingEntity({ billing_entity: { code: `be13g_${S}`, name: 'Acme US', country: 'US' } } as any));
  await call('billingEntities.updateBillingEntity', () => lago.billingEntities.updateBillingEntity(`be13g_${S}`, { billing_entity: { legal_name: 'Acme US Inc' } } as any));
  // entity13 (issue 13): a customer of the second entity (CustomerObject's billing_entity_code), its one-off invoice
  // issued and numbered by that entity (InvoiceObject's billing_entity_code), and GET /invoices' billing_entity_codes[].
  const entity13 = (await lago.billingEntities.getBillingEntity(`be13g_${S}`)).data.billing_entity;
  const customer13 = await call('customers.createCustomer (billing entity)', () =>
    lago.customers.createCustomer({ customer: { external_id: `c_be13_${S}`, name: 'Entity customer', currency: 'USD', billing_entity_code: `be13g_${S}` } } as any),
  );
  expect(customer13.customer.billing_entity_code).toBe(`be13g_${S}`);
  const invoice13 = await call('invoices.createInvoice (billing entity)', () =>
    lago.invoices.createInvoice({ invoice: { external_customer_id: `c_be13_${S}`, currency: 'USD', fees: [{ add_on_code: `pack13b_${S}`, units: '1' }] } }),
  );
  expect(invoice13.invoice.billing_entity_code).toBe(`be13g_${S}`);
  expect(invoice13.invoice.number).toMatch(new RegExp(`^${entity13.document_number_prefix}-\\d{6}-000001$`));
  const byEntity13 = await call('invoices.findAllInvoices (billing entity)', () => lago.invoices.findAllInvoices({ 'billing_entity_codes[]': [`be13g_${S}`] } as any));
  expect(byEntity13.invoices.map((i: any) => i.lago_id)).toEqual([invoice13.invoice.lago_id]);
  const apiLog13g = await eventually(async () => (await lago.apiLogs.findAllApiLogs({ request_paths: `/billing_entities/be13g_${S}` } as any)).data.api_logs[0], 30_000, 'an API log');
  await call('apiLogs.findAllApiLogs', () => lago.apiLogs.findAllApiLogs({ 'http_methods[]': ['put'], page: 1, per_page: 5 } as any));
  await call('apiLogs.findApiLog', () => lago.apiLogs.findApiLog(apiLog13g.request_id));
  const activity13g = await eventually(async () => (await lago.activityLogs.findAllActivityLogs({ 'resource_types[]': ['BillingEntity'] } as any)).data.activity_logs[0], 30_000, 'an activity log');
  await call('activityLogs.findAllActivityLogs', () => lago.activityLogs.findAllActivityLogs({ 'activity_sources[]': ['api'], page: 1, per_page: 5 } as any));
  await call('activityLogs.findActivityLog', () => lago.activityLogs.findActivityLog(activity13g.activity_id));

  // What does not conform yet, each with its reason: exactly these (a fix or a new divergence fails the test).
  const failing = [...new Set(problems.map((p) => p.split(':')[0]!))].sort();
  expect(failing).toEqual(Object.keys(KNOWN_DIVERGENCES).sort());
  // Every method of the served groups was validated at least once.
  const routes = await meterlineRoutes();
  const reaching = clientCalls().filter((c) => routeFor(routes, c.method, c.path.replace(/p\d/g, 'x')) !== undefined).map((c) => `${c.group}.${c.name}`);
  const exercised = new Set([...checked].map((l) => l.replace(/ \(.*\)$/, '')));
  expect(validated.size).toBeGreaterThan(40);
  expect(reaching.filter((m) => !exercised.has(m))).toEqual([]);
});
