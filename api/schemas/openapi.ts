// The OpenAPI 3.1 document served at GET /api/v1/openapi.json, generated from the same zod schemas that
// validate the requests (zod 4's native z.toJSONSchema; no extra dependency): request bodies as components,
// query parameters from the query schemas, path parameters from the path templates. Event batches and imports
// document one event's shape (EventInputObject) where the route validates each event by hand, per index.
import { z } from 'zod';
import { AlertCreateBody } from './alerts';
import { ApiKeyCreateBody } from './api-keys';
import { BillableMetricCreateBody } from './billable-metrics';
import { paginationQuery } from './common';
import { CurrentUsageQuery } from './current-usage';
import { CustomerCreateBody } from './customers';
import { EventErrorsQuery, EventImportBody, EventInputObject, MAX_BATCH_EVENTS, MAX_IMPORT_EVENTS } from './events';
import { InvoiceListQuery } from './invoices';
import { InvoicePreviewBody } from './invoices-preview';
import { FxRateResolveQuery, FxSettingsBody, ManualFxRateBody } from './fx';
import { OrganizationUpdateBody } from './organizations';
import { PastUsageQuery } from './past-usage';
import { EmptyBody, InvoiceUpdateBody, PaymentCreateBody } from './payments';
import { DunningCampaignCreateBody, DunningCampaignUpdateBody, StripeProviderBody } from './payment-settings';
import { PlanCreateBody } from './plans';
import { SubscriptionCreateBody, SubscriptionUpdateBody, SubscriptionListQuery } from './subscriptions';
import { responseComponents, type ResponseName } from './responses';
import { TaxCreateBody, TaxSettingsBody, TaxUpdateBody } from './taxes';
import { AddOnCreateBody, AddOnUpdateBody, AppliedCouponBody, AppliedCouponListQuery, CouponCreateBody, CouponUpdateBody, CreditNoteCreateBody, CreditNoteEstimateBody, CreditNoteListQuery, OneOffInvoiceBody } from './credits';
import { webhookOpenApiPaths, webhookOpenApiSchemas } from './openapi-webhooks';
import { TestClockAdvanceBody, TestClockCreateBody } from './test-clocks';
import { walletOpenApiPaths, walletOpenApiSchemas } from './openapi-wallets';
import { portalOpenApiPaths } from './openapi-portal';
import { addEverydayOpenApi } from './openapi-everyday';
import { addFixedChargesOpenApi } from './openapi-fixed-charges'; // fixed13
import { addCustomerMoneyOpenApi } from './openapi-customer-money'; // ops13a (issue 13)
import { addOps13bOpenApi } from './openapi-ops13b';
import { addOps13cOpenApi } from './openapi-ops13c'; // ops13c (issue 13)
import { addOps13dOpenApi } from './openapi-ops13d'; // ops13d (issue 13)
import { addEntitlementsOpenApi } from './openapi-entitlements'; // ops13f (issue 13)
import { addOps13gOpenApi } from './openapi-ops13g'; // ops13g (issue 13)
import { errorAnswers, idempotencyKeyHeader, okResponse, pathParameters, queryParameters, schemaOf } from './openapi-helpers';

const ErrorBody = z.object({
  status: z.number().int(),
  error: z.string(),
  code: z.string().optional(),
  error_details: z.record(z.string(), z.unknown()).optional(),
  request_id: z.string().optional(),
});

const errorResponses = errorAnswers(['400', '401', '404', '409', '422']);

/** The 200 answer: its body schema from api/schemas/responses.ts (every route answers 200 on success). */
const ok = (response: ResponseName) => okResponse(response);

function post(path: string, summary: string, schemaName: string, response: ResponseName) {
  return {
    summary,
    parameters: [...pathParameters(path), idempotencyKeyHeader],
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } },
    responses: { ...ok(response), ...errorResponses },
  };
}

function put(path: string, summary: string, schemaName: string, response: ResponseName) {
  const { parameters, ...rest } = post(path, summary, schemaName, response);
  return { ...rest, parameters: parameters.filter((p) => p !== idempotencyKeyHeader) };
}

function get(path: string, summary: string, response: ResponseName, query?: z.ZodObject, extraQuery: Record<string, unknown>[] = []) {
  const parameters = [...pathParameters(path), ...queryParameters(query), ...extraQuery];
  return { summary, ...(parameters.length > 0 ? { parameters } : {}), responses: { ...ok(response), ...errorResponses } };
}

function del(path: string, summary: string, response: ResponseName) {
  return { summary, parameters: pathParameters(path), responses: { ...ok(response), ...errorResponses } };
}

/** GET /subscriptions reads `status` / `status[]` itself (repeatable; default active). */
const subscriptionStatusQuery = {
  name: 'status[]',
  in: 'query',
  required: false,
  schema: { type: 'array', items: { type: 'string', enum: ['active', 'pending', 'terminated'] } },
};

let cached: Record<string, unknown> | null = null;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  cached = {
    openapi: '3.1.0',
    info: { title: 'Meterline API', version: '1.0.0', description: "Usage billing; compatible with Lago's public API v1 for the shared resources." },
    servers: [{ url: '/api/v1' }],
    security: [{ bearerAuth: [] }],
    // Every route mounted under /api/v1 (test/api/auth-and-errors.test.ts compares this list with the app's routes).
    paths: {
      '/billable_metrics': {
        post: post('/billable_metrics', 'Create a billable metric', 'BillableMetricCreateInput', 'BillableMetricResponse'),
        get: get('/billable_metrics', 'List billable metrics', 'BillableMetricListResponse', paginationQuery),
      },
      '/billable_metrics/{code}': { get: get('/billable_metrics/{code}', 'Retrieve a billable metric', 'BillableMetricResponse') },
      '/plans': { post: post('/plans', 'Create a plan (validated by the billing engine before any write)', 'PlanCreateInput', 'PlanResponse') },
      '/plans/{code}': { get: get('/plans/{code}', 'Retrieve a plan', 'PlanResponse') },
      '/taxes': {
        post: post('/taxes', 'Create a tax (rate: a percentage, decimal string or number)', 'TaxCreateInput', 'TaxResponse'),
        get: get('/taxes', 'List taxes', 'TaxListResponse', paginationQuery),
      },
      '/taxes/{code}': {
        get: get('/taxes/{code}', 'Retrieve a tax', 'TaxResponse'),
        put: put('/taxes/{code}', 'Update a tax', 'TaxUpdateInput', 'TaxResponse'),
        delete: del('/taxes/{code}', 'Delete a tax (detached from customers, plans and charges)', 'TaxResponse'),
      },
      '/tax_settings': {
        get: get('/tax_settings', "The organization's automatic-tax settings (Meterline extension)", 'TaxSettingsResponse'),
        put: put('/tax_settings', 'Enable or configure automatic tax rules: seller country, US state and other country rates', 'TaxSettingsInput', 'TaxSettingsResponse'),
      },
      '/payment_providers': { get: get('/payment_providers', "The organization's payment provider connections (secrets never read back; Meterline extension)", 'PaymentProviderListResponse') },
      '/payment_providers/stripe': {
        put: put('/payment_providers/stripe', 'Connect Stripe: secret key, webhook signing secret, success redirect URL (Meterline extension)', 'StripeProviderInput', 'PaymentProviderResponse'),
        delete: del('/payment_providers/stripe', 'Disconnect Stripe: invoices then wait for manual payments', 'PaymentProviderResponse'),
      },
      '/dunning_campaigns': {
        post: post('/dunning_campaigns', 'Create a dunning campaign (attempts, days between attempts, thresholds per currency, consequence)', 'DunningCampaignCreateInput', 'DunningCampaignResponse'),
        get: get('/dunning_campaigns', 'List dunning campaigns', 'DunningCampaignListResponse'),
      },
      '/dunning_campaigns/{code}': {
        get: get('/dunning_campaigns/{code}', 'Retrieve a dunning campaign', 'DunningCampaignResponse'),
        put: put('/dunning_campaigns/{code}', 'Update a dunning campaign (applied_to_organization: true makes it the default)', 'DunningCampaignUpdateInput', 'DunningCampaignResponse'),
        delete: del('/dunning_campaigns/{code}', 'Delete a dunning campaign', 'DunningCampaignResponse'),
      },
      '/customers': { post: post('/customers', 'Create or update a customer by external_id', 'CustomerCreateInput', 'CustomerResponse') },
      '/customers/{external_customer_id}': { get: get('/customers/{external_customer_id}', 'Retrieve a customer', 'CustomerResponse') },
      '/customers/{external_customer_id}/current_usage': {
        get: get(
          '/customers/{external_customer_id}/current_usage',
          "Usage of the customer's active subscription in its open billing period, priced (Lago's CustomerUsage)",
          'CustomerUsageResponse',
          CurrentUsageQuery,
        ),
      },
      '/customers/{external_customer_id}/past_usage': {
        get: get(
          '/customers/{external_customer_id}/past_usage',
          "Usage per billing period of a subscription, newest first; imported usage (already billed elsewhere) shown apart",
          'PastUsageResponse',
          PastUsageQuery,
        ),
      },
      '/subscriptions': {
        post: post('/subscriptions', 'Create a subscription (starts its workflow)', 'SubscriptionCreateInput', 'SubscriptionResponse'),
        get: get('/subscriptions', 'List subscriptions', 'SubscriptionListResponse', SubscriptionListQuery, [subscriptionStatusQuery]),
      },
      '/subscriptions/{external_id}': {
        get: get('/subscriptions/{external_id}', 'Retrieve a subscription', 'SubscriptionResponse'),
        put: put('/subscriptions/{external_id}', 'Update a subscription: name, ending_at (its workflow terminates it then)', 'SubscriptionUpdateInput', 'SubscriptionResponse'),
        delete: del('/subscriptions/{external_id}', 'Terminate a subscription (its final invoice is issued by its workflow)', 'SubscriptionResponse'),
      },
      '/subscriptions/{external_id}/alerts': {
        post: post('/subscriptions/{external_id}/alerts', 'Create a usage alert on a subscription', 'AlertCreateInput', 'AlertResponse'),
        get: get('/subscriptions/{external_id}/alerts', "List a subscription's usage alerts", 'AlertListResponse', paginationQuery),
      },
      '/subscriptions/{external_id}/alerts/triggered': {
        get: get(
          '/subscriptions/{external_id}/alerts/triggered',
          "List a subscription's triggered alerts, newest first (one record per crossed threshold and period)",
          'TriggeredAlertListResponse',
          paginationQuery,
        ),
      },
      '/events': { post: post('/events', 'Send one usage event (200 with `duplicate: true` for a replayed transaction_id)', 'EventInput', 'EventResponse') },
      '/events/batch': { post: post('/events/batch', `Send 1..${MAX_BATCH_EVENTS} usage events, all-or-nothing`, 'EventBatchInput', 'EventBatchResponse') },
      '/events/import': {
        post: post(
          '/events/import',
          `Import 1..${MAX_IMPORT_EVENTS} usage events already billed by a previous system (usage history only, never billed), all-or-nothing`,
          'EventImportInput',
          'EventImportResponse',
        ),
      },
      '/events/errors': { get: get('/events/errors', 'List rejected events (what was recorded against each event a 422 refused)', 'EventErrorListResponse', EventErrorsQuery) },
      '/events/quarantined': {
        get: get('/events/quarantined', 'List stored events billing could not use, moved aside so their period still closed', 'QuarantinedEventListResponse', paginationQuery),
      },
      '/events/{transaction_id}': {
        get: get('/events/{transaction_id}', 'Retrieve a stored event; 404 event_not_found lists the errors recorded against the transaction id', 'StoredEventResponse'),
      },
      '/invoices': {
        get: get('/invoices', 'List invoices', 'InvoiceListResponse', InvoiceListQuery),
        post: post('/invoices', 'Create a one-off invoice of add-on fees (taxed, finalized, collected like any invoice)', 'InvoiceOneOffCreateInput', 'InvoiceResponse'),
      },
      '/coupons': {
        post: post('/coupons', 'Create a coupon (fixed_amount or percentage; once, recurring or forever; limited to plans or metrics)', 'CouponCreateInput', 'CouponResponse'),
        get: get('/coupons', 'List coupons', 'CouponListResponse', paginationQuery),
      },
      '/coupons/{code}': {
        get: get('/coupons/{code}', 'Retrieve a coupon', 'CouponResponse'),
        put: put('/coupons/{code}', 'Update a coupon', 'CouponUpdateInput', 'CouponResponse'),
        delete: del('/coupons/{code}', 'Delete a coupon (its active applications are terminated)', 'CouponResponse'),
      },
      '/applied_coupons': {
        post: post('/applied_coupons', 'Apply a coupon to a customer (409 coupon_already_applied while one is active)', 'AppliedCouponInput', 'AppliedCouponResponse'),
        get: get('/applied_coupons', 'List applied coupons', 'AppliedCouponListResponse', AppliedCouponListQuery),
      },
      '/customers/{external_customer_id}/applied_coupons/{applied_coupon_id}': {
        delete: del('/customers/{external_customer_id}/applied_coupons/{applied_coupon_id}', "Terminate a customer's applied coupon", 'AppliedCouponResponse'),
      },
      '/add_ons': {
        post: post('/add_ons', 'Create an add-on', 'AddOnCreateInput', 'AddOnResponse'),
        get: get('/add_ons', 'List add-ons', 'AddOnListResponse', paginationQuery),
      },
      '/add_ons/{code}': {
        get: get('/add_ons/{code}', 'Retrieve an add-on', 'AddOnResponse'),
        put: put('/add_ons/{code}', 'Update an add-on', 'AddOnUpdateInput', 'AddOnResponse'),
        delete: del('/add_ons/{code}', 'Delete an add-on', 'AddOnResponse'),
      },
      '/credit_notes': {
        post: post('/credit_notes', 'Create a credit note (credit, refund and offset must sum to its total; never above what is creditable)', 'CreditNoteCreateInput', 'CreditNoteResponse'),
        get: get('/credit_notes', 'List credit notes', 'CreditNoteListResponse', CreditNoteListQuery),
      },
      '/credit_notes/estimate': { post: post('/credit_notes/estimate', 'Estimate a credit note (writes nothing)', 'CreditNoteEstimateInput', 'CreditNoteEstimateResponse') },
      '/credit_notes/{lago_id}': { get: get('/credit_notes/{lago_id}', 'Retrieve a credit note', 'CreditNoteResponse') },
      '/credit_notes/{lago_id}/void': {
        put: {
          summary: "Void a credit note's unused credit",
          parameters: pathParameters('/credit_notes/{lago_id}/void'),
          responses: { ...ok('CreditNoteResponse'), ...errorResponses },
        },
      },
      '/credit_notes/{lago_id}/download': {
        post: {
          summary: "Render and store a credit note's PDF; answers the credit note with its file_url",
          parameters: [...pathParameters('/credit_notes/{lago_id}/download'), idempotencyKeyHeader],
          responses: { ...ok('CreditNoteResponse'), ...errorResponses },
        },
      },
      '/credit_notes/{lago_id}/file': {
        get: {
          ...get('/credit_notes/{lago_id}/file', "The credit note's PDF (authenticated, the file_url)", 'CreditNoteResponse'),
          responses: { '200': { description: 'The PDF', content: { 'application/pdf': {} } }, ...errorResponses },
        },
      },
      '/invoices/{lago_id}': {
        get: get('/invoices/{lago_id}', 'Retrieve an invoice', 'InvoiceResponse'),
        put: put('/invoices/{lago_id}', "Update an invoice's payment_status and metadata", 'InvoiceUpdateInput', 'InvoiceResponse'),
        delete: del('/invoices/{lago_id}', 'Delete a draft invoice: answered with status deleted, then gone from every read; never numbered, its period never invoiced again (405 not_deletable unless a draft)', 'InvoiceResponse'),
      },
      '/invoices/{lago_id}/refresh': { put: put('/invoices/{lago_id}/refresh', 'Recompute a draft invoice now (through its workflow)', 'EmptyInput', 'InvoiceResponse') },
      '/invoices/{lago_id}/finalize': {
        put: put('/invoices/{lago_id}/finalize', 'Finalize a draft invoice now: ends its grace period, numbers it (through its workflow)', 'EmptyInput', 'InvoiceResponse'),
      },
      '/invoices/{lago_id}/void': {
        post: post('/invoices/{lago_id}/void', 'Void a finalized, unpaid invoice (keeps its number; stops dunning); 405 not_voidable otherwise', 'EmptyInput', 'InvoiceResponse'),
      },
      '/invoices/{lago_id}/retry_payment': {
        post: post('/invoices/{lago_id}/retry_payment', 'Run the next payment attempt now (an invoice in collection); 405 payment_not_retryable otherwise', 'EmptyInput', 'InvoiceResponse'),
      },
      '/invoices/{lago_id}/payment_url': {
        post: post('/invoices/{lago_id}/payment_url', "A provider checkout link to pay a finalized, unpaid invoice (Lago's InvoicePaymentUrl)", 'EmptyInput', 'InvoicePaymentUrlResponse'),
      },
      '/customers/{external_customer_id}/checkout_url': {
        post: post('/customers/{external_customer_id}/checkout_url', "A provider checkout link (setup mode) to save the customer's payment method", 'EmptyInput', 'CustomerCheckoutUrlResponse'),
      },
      '/payments': {
        post: post('/payments', 'Record a manual payment of an invoice (partial payments allowed, never above the amount due)', 'PaymentCreateInput', 'PaymentResponse'),
      },
      '/invoices/preview': {
        post: post(
          '/invoices/preview',
          'Preview an invoice (plan_code or inline plan; usage totals or a past period of a subscription); writes nothing',
          'InvoicePreviewInput',
          'InvoiceResponse',
        ),
      },
      '/invoices/{lago_id}/download': {
        post: {
          summary: "Render and store a finalized invoice's PDF; answers the invoice with its file_url (405 is_draft for a draft)",
          parameters: [...pathParameters('/invoices/{lago_id}/download'), idempotencyKeyHeader],
          responses: { ...ok('InvoiceResponse'), ...errorResponses },
        },
      },
      '/invoices/{lago_id}/file': {
        get: {
          ...get('/invoices/{lago_id}/file', "The invoice's PDF (authenticated, the file_url)", 'InvoiceResponse'),
          responses: { '200': { description: 'The PDF', content: { 'application/pdf': {} } }, ...errorResponses },
        },
      },
      '/organizations': {
        get: get('/organizations', "The API key's organization", 'OrganizationResponse'),
        put: {
          summary: "Update the organization (timezone, net_payment_term, billing_configuration.invoice_grace_period)",
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/OrganizationUpdateInput' } } } },
          responses: { ...ok('OrganizationResponse'), ...errorResponses },
        },
      },
      '/fx_settings': {
        get: get('/fx_settings', "The organization's FX setting (Meterline)", 'FxSettingsResponse'),
        put: {
          summary: 'Allow invoicing customers in a currency other than their plan (Meterline)',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/FxSettingsInput' } } } },
          responses: { ...ok('FxSettingsResponse'), ...errorResponses },
        },
      },
      '/fx_rates': {
        post: post('/fx_rates', 'Enter a manual FX rate for a pair and date (Meterline; the fallback when the ECB has none)', 'ManualFxRateInput', 'FxRateResponse'),
      },
      '/fx_rates/resolve': {
        get: get('/fx_rates/resolve', 'The rate an invoice of that date would use, or 404 fx_rate_missing / fx_rate_stale with the reason (Meterline)', 'FxRateResponse', FxRateResolveQuery),
      },
      // API key management (Meterline extension: Lago 1.51's public API has no keys route).
      '/api_keys': {
        post: post('/api_keys', 'Create an API key (its value is shown once; stored as a sha256)', 'ApiKeyCreateInput', 'ApiKeyResponse'),
        get: get('/api_keys', "List the organization's API keys (never their values)", 'ApiKeyListResponse'),
      },
      '/api_keys/{lago_id}': {
        get: get('/api_keys/{lago_id}', 'Retrieve an API key (without its value)', 'ApiKeyResponse'),
        delete: del('/api_keys/{lago_id}', 'Revoke an API key, effective at once on every API process', 'ApiKeyResponse'),
      },
      '/api_keys/{lago_id}/rotate': {
        post: post('/api_keys/{lago_id}/rotate', 'Replace an API key by a new one with the same name (the old one is revoked)', 'ApiKeyEmptyInput', 'ApiKeyRotateResponse'),
      },
      ...webhookOpenApiPaths(),
      // Test clocks (Meterline sandbox extension; README "Test clocks").
      '/test_clocks': {
        post: post('/test_clocks', 'Create a test clock (frozen_time: its starting time, now when absent)', 'TestClockCreateInput', 'TestClockResponse'),
        get: get('/test_clocks', "List the organization's test clocks", 'TestClockListResponse', paginationQuery),
      },
      '/test_clocks/{lago_id}': { get: get('/test_clocks/{lago_id}', 'Retrieve a test clock', 'TestClockResponse') },
      '/test_clocks/{lago_id}/advance': {
        post: post('/test_clocks/{lago_id}/advance', 'Advance a test clock; every subscription and invoice on it follows (never backwards)', 'TestClockAdvanceInput', 'TestClockResponse'),
      },
      ...walletOpenApiPaths(),
      ...portalOpenApiPaths(),
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: schemaOf(ErrorBody),
        BillableMetricCreateInput: schemaOf(BillableMetricCreateBody),
        PlanCreateInput: schemaOf(PlanCreateBody),
        CustomerCreateInput: schemaOf(CustomerCreateBody),
        SubscriptionCreateInput: schemaOf(SubscriptionCreateBody),
        SubscriptionUpdateInput: schemaOf(SubscriptionUpdateBody),
        EventInput: schemaOf(z.object({ event: EventInputObject })),
        InvoicePreviewInput: schemaOf(InvoicePreviewBody),
        EventBatchInput: schemaOf(z.object({ events: z.array(EventInputObject).min(1).max(MAX_BATCH_EVENTS) })),
        EventImportInput: schemaOf(EventImportBody.extend({ events: z.array(EventInputObject).min(1).max(MAX_IMPORT_EVENTS) })),
        AlertCreateInput: schemaOf(AlertCreateBody),
        // Response bodies (api/schemas/responses.ts): every 2xx answer of every route.
        ...responseComponents(),
        FxSettingsInput: schemaOf(FxSettingsBody),
        OrganizationUpdateInput: schemaOf(OrganizationUpdateBody),
        ManualFxRateInput: schemaOf(ManualFxRateBody),
        ApiKeyCreateInput: schemaOf(ApiKeyCreateBody),
        ApiKeyEmptyInput: schemaOf(z.object({})),
        TaxCreateInput: schemaOf(TaxCreateBody),
        CouponCreateInput: schemaOf(CouponCreateBody),
        CouponUpdateInput: schemaOf(CouponUpdateBody),
        AppliedCouponInput: schemaOf(AppliedCouponBody),
        AddOnCreateInput: schemaOf(AddOnCreateBody),
        AddOnUpdateInput: schemaOf(AddOnUpdateBody),
        InvoiceOneOffCreateInput: schemaOf(OneOffInvoiceBody),
        CreditNoteCreateInput: schemaOf(CreditNoteCreateBody),
        CreditNoteEstimateInput: schemaOf(CreditNoteEstimateBody),
        TaxUpdateInput: schemaOf(TaxUpdateBody),
        TaxSettingsInput: schemaOf(TaxSettingsBody),
        ...webhookOpenApiSchemas(),
        ...walletOpenApiSchemas(),
        PaymentCreateInput: schemaOf(PaymentCreateBody),
        EmptyInput: schemaOf(EmptyBody),
        InvoiceUpdateInput: schemaOf(InvoiceUpdateBody),
        StripeProviderInput: schemaOf(StripeProviderBody),
        DunningCampaignCreateInput: schemaOf(DunningCampaignCreateBody),
        DunningCampaignUpdateInput: schemaOf(DunningCampaignUpdateBody),
        TestClockCreateInput: schemaOf(TestClockCreateBody),
        TestClockAdvanceInput: schemaOf(TestClockAdvanceBody),
      },
    },
  };
  addEverydayOpenApi(cached as Parameters<typeof addEverydayOpenApi>[0]);
  addFixedChargesOpenApi(cached as Parameters<typeof addFixedChargesOpenApi>[0]); // fixed13
  addCustomerMoneyOpenApi(cached as Parameters<typeof addCustomerMoneyOpenApi>[0]); // ops13a (issue 13)
  addOps13bOpenApi(cached as Parameters<typeof addOps13bOpenApi>[0]); // issue 13, ops13b
  addOps13cOpenApi(cached as Parameters<typeof addOps13cOpenApi>[0]); // issue 13, ops13c
  addOps13dOpenApi(cached as Parameters<typeof addOps13dOpenApi>[0]); // issue 13, ops13d
  addEntitlementsOpenApi(cached as Parameters<typeof addEntitlementsOpenApi>[0]); // issue 13, ops13f
  addOps13gOpenApi(cached as Parameters<typeof addOps13gOpenApi>[0]); // issue 13, ops13g
  return cached;
}
