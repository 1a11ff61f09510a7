// The OpenAPI part of the ops13g operations (issue 13): billing entities, activity logs, API logs, DELETE and retry
// of invoices. Merged into api/schemas/openapi.ts method by method.
import { BillingEntityCreateBody, BillingEntityUpdateBody } from './billing-entities';
import { ActivityLogsQuery, ApiLogsQuery } from './audit-logs';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';

const errors = errorAnswers(['400', '401', '404', '405', '422'], '`billing_entity_not_found`, `activity_log_not_found`, `api_log_not_found`, `invoice_not_found`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });

function paths(): Record<string, Record<string, unknown>> {
  return {
    '/billing_entities': {
      get: { summary: "The organization's billing entities (the default one first)", parameters: [], responses: ok('BillingEntityListResponse') },
      post: { summary: 'Create a billing entity (stored; invoices are still issued by the default entity)', parameters: [], requestBody: jsonBody('BillingEntityCreateInput'), responses: ok('BillingEntityCreateResponse') },
    },
    '/billing_entities/{code}': {
      get: { summary: 'One billing entity with its taxes', parameters: [pathParam('code')], responses: ok('BillingEntityResponse') },
      put: { summary: "Update a billing entity (the default one's name, timezone, grace period, payment term and taxes are the organization's)", parameters: [pathParam('code')], requestBody: jsonBody('BillingEntityUpdateInput'), responses: ok('BillingEntityUpdateResponse') },
    },
    '/activity_logs': {
      get: { summary: 'Changes of resources (created / updated / deleted …), newest first', parameters: queryParameters(ActivityLogsQuery), responses: ok('ActivityLogListResponse') },
    },
    '/activity_logs/{activity_id}': {
      get: { summary: 'One activity log', parameters: [pathParam('activity_id')], responses: ok('ActivityLogResponse') },
    },
    '/api_logs': {
      get: { summary: 'Write requests (POST, PUT, DELETE; not the event ingest posts), newest first', parameters: queryParameters(ApiLogsQuery), responses: ok('ApiLogListResponse') },
    },
    '/api_logs/{request_id}': {
      get: { summary: 'One API log by its request id (the X-Request-Id of the request)', parameters: [pathParam('request_id')], responses: ok('ApiLogResponse') },
    },
  };
}

export function addOps13gOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(paths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.BillingEntityCreateInput = schemaOf(BillingEntityCreateBody);
  doc.components.schemas.BillingEntityUpdateInput = schemaOf(BillingEntityUpdateBody);
}
