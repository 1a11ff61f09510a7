// The OpenAPI part for outgoing webhooks (paths and components), merged into api/schemas/openapi.ts. Kept apart
// so it adds to the document without touching the other routes' entries.
import { errorAnswers, idempotencyKeyHeader, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import { paginationQuery } from './common';
import {
  WebhookEndpointCreateBody,
  WebhookEndpointResponse,
  WebhookEndpointsPaginatedResponse,
  WebhookEndpointUpdateBody,
  WebhookHmacKeyResponse,
  WebhookListQuery,
  WebhookPublicKeyResponse,
  WebhookResponse,
  WebhooksPaginatedResponse,
} from './webhooks';

const errors = errorAnswers(['401', '404', '422'], '`webhook_endpoint_not_found`, `webhook_not_found`');
const ok = (name: string) => ({ ...okResponse(name, 'OK'), ...errors });
const lagoIdParam = pathParam('lago_id', 'uuid');
const body = jsonBody;

export function webhookOpenApiPaths(): Record<string, unknown> {
  return {
    '/webhook_endpoints': {
      post: { summary: 'Create a webhook endpoint (at most 10 per organization)', parameters: [idempotencyKeyHeader], requestBody: body('WebhookEndpointCreateInput'), responses: ok('WebhookEndpoint') },
      get: { summary: 'List webhook endpoints', parameters: queryParameters(paginationQuery), responses: ok('WebhookEndpointsPaginated') },
    },
    '/webhook_endpoints/{lago_id}': {
      get: { summary: 'Retrieve a webhook endpoint', parameters: [lagoIdParam], responses: ok('WebhookEndpoint') },
      put: { summary: 'Update a webhook endpoint', parameters: [lagoIdParam], requestBody: body('WebhookEndpointUpdateInput'), responses: ok('WebhookEndpoint') },
      delete: { summary: 'Delete a webhook endpoint (and its pending deliveries)', parameters: [lagoIdParam], responses: ok('WebhookEndpoint') },
    },
    '/webhooks/public_key': {
      get: {
        summary: 'The RS256 public key that verifies `jwt` signatures: base64 of its PEM (text/plain)',
        responses: { '200': { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': errors['401'] },
      },
    },
    '/webhooks/json_public_key': { get: { summary: 'The RS256 public key, wrapped in JSON', responses: ok('WebhookPublicKey') } },
    '/webhooks/hmac_key': { get: { summary: "Meterline: the organization's HMAC key that verifies `hmac` signatures", responses: ok('WebhookHmacKey') } },
    '/webhooks': { get: { summary: 'Meterline: the webhook delivery log, newest first', parameters: queryParameters(WebhookListQuery), responses: ok('WebhooksPaginated') } },
    '/webhooks/{lago_id}': { get: { summary: 'Meterline: one webhook with every delivery attempt', parameters: [lagoIdParam], responses: ok('Webhook') } },
    '/webhooks/{lago_id}/retry': {
      post: { summary: 'Meterline: retry a failed webhook now, with a fresh retry budget', parameters: [lagoIdParam, idempotencyKeyHeader], responses: ok('Webhook') },
    },
  };
}

export function webhookOpenApiSchemas(): Record<string, unknown> {
  return {
    WebhookEndpointCreateInput: schemaOf(WebhookEndpointCreateBody, 'input'),
    WebhookEndpointUpdateInput: schemaOf(WebhookEndpointUpdateBody, 'input'),
    WebhookEndpoint: schemaOf(WebhookEndpointResponse, 'output'),
    WebhookEndpointsPaginated: schemaOf(WebhookEndpointsPaginatedResponse, 'output'),
    WebhookPublicKey: schemaOf(WebhookPublicKeyResponse, 'output'),
    WebhookHmacKey: schemaOf(WebhookHmacKeyResponse, 'output'),
    Webhook: schemaOf(WebhookResponse, 'output'),
    WebhooksPaginated: schemaOf(WebhooksPaginatedResponse, 'output'),
  };
}
