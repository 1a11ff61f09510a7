// The OpenAPI 3.1 document served at GET /api/v1/openapi.json, generated from the same zod schemas that
// validate the requests (zod 4's native z.toJSONSchema; no extra dependency).
import { z } from 'zod';
import { BillableMetricCreateBody } from './billable-metrics';
import { CustomerCreateBody } from './customers';
import { EventInputObject, MAX_BATCH_EVENTS } from './events';
import { InvoicePreviewBody } from './invoices-preview';
import { PlanCreateBody } from './plans';
import { SubscriptionCreateBody } from './subscriptions';

const ErrorBody = z.object({
  status: z.number().int(),
  error: z.string(),
  code: z.string().optional(),
  error_details: z.record(z.string(), z.unknown()).optional(),
  request_id: z.string().optional(),
});

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const errorResponses = {
  '400': { description: 'Malformed JSON', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '401': { description: 'Missing or invalid API key', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '404': { description: 'Not found (`<resource>_not_found`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '409': { description: 'Idempotency-Key reused with a different body', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '422': { description: 'Validation errors (`error_details: {field: [codes]}`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
};

function post(summary: string, schemaName: string) {
  return {
    summary,
    parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } }],
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } },
    responses: { '200': { description: 'OK (Lago envelope)' }, ...errorResponses },
  };
}

function get(summary: string) {
  return { summary, responses: { '200': { description: 'OK (Lago envelope)' }, ...errorResponses } };
}

let cached: Record<string, unknown> | null = null;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  cached = {
    openapi: '3.1.0',
    info: { title: 'Meterline API', version: '1.0.0', description: "Usage billing; compatible with Lago's public API v1 for the shared resources." },
    servers: [{ url: '/api/v1' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/billable_metrics': { post: post('Create a billable metric', 'BillableMetricCreateInput'), get: get('List billable metrics') },
      '/billable_metrics/{code}': { get: get('Retrieve a billable metric') },
      '/plans': { post: post('Create a plan (validated by the billing engine before any write)', 'PlanCreateInput') },
      '/plans/{code}': { get: get('Retrieve a plan') },
      '/customers': { post: post('Create or update a customer by external_id', 'CustomerCreateInput') },
      '/customers/{external_customer_id}': { get: get('Retrieve a customer') },
      '/subscriptions': { post: post('Create a subscription (starts its workflow)', 'SubscriptionCreateInput'), get: get('List subscriptions') },
      '/subscriptions/{external_id}': { get: get('Retrieve a subscription'), delete: get('Terminate a subscription') },
      '/events': { post: post('Send one usage event (200 with `duplicate: true` for a replayed transaction_id)', 'EventInput') },
      '/events/batch': { post: post(`Send 1..${MAX_BATCH_EVENTS} usage events, all-or-nothing`, 'EventBatchInput') },
      '/invoices': { get: get('List invoices') },
      '/invoices/{lago_id}': { get: get('Retrieve an invoice') },
      '/invoices/preview': { post: post('Preview an invoice (plan_code or inline plan; usage totals or a past period of a subscription); writes nothing', 'InvoicePreviewInput') },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: schemaOf(ErrorBody),
        BillableMetricCreateInput: schemaOf(BillableMetricCreateBody),
        PlanCreateInput: schemaOf(PlanCreateBody),
        CustomerCreateInput: schemaOf(CustomerCreateBody),
        SubscriptionCreateInput: schemaOf(SubscriptionCreateBody),
        EventInput: schemaOf(z.object({ event: EventInputObject })),
        InvoicePreviewInput: schemaOf(InvoicePreviewBody),
        EventBatchInput: schemaOf(z.object({ events: z.array(EventInputObject).min(1).max(MAX_BATCH_EVENTS) })),
      },
    },
  };
  return cached;
}
