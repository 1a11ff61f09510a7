// Webhook endpoints (Lago's WebhookEndpointCreateInput / UpdateInput / WebhookEndpointObject) and the delivery
// log (Meterline's; Lago shows it in its UI). Request schemas validate; response schemas document (OpenAPI).
import { z } from 'zod';
import { paginationQuery } from './common';

/** http(s) only, with a host; at most 2048 characters. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const webhookUrl = z.string().max(2048).refine(isHttpUrl, 'url_invalid_format');
const eventType = z.string().regex(/^[a-z_]+\.[a-z_]+$/, 'value_is_invalid');

const WebhookEndpointInput = z.object({
  webhook_url: webhookUrl,
  signature_algo: z.enum(['hmac', 'jwt']).nullable().optional(),
  name: z.string().max(255).nullable().optional(),
  event_types: z.array(eventType).max(100).nullable().optional(),
});

export const WebhookEndpointCreateBody = z.object({ webhook_endpoint: WebhookEndpointInput });
export const WebhookEndpointUpdateBody = z.object({ webhook_endpoint: WebhookEndpointInput });

export const WEBHOOK_STATUSES = ['pending', 'retrying', 'succeeded', 'failed'] as const;

export const WebhookListQuery = paginationQuery.extend({
  webhook_endpoint_id: z.string().optional(),
  status: z.enum(WEBHOOK_STATUSES).optional(),
  webhook_type: z.string().optional(),
});

const PaginationMetaSchema = z.object({
  current_page: z.number().int(),
  next_page: z.number().int().nullable(),
  prev_page: z.number().int().nullable(),
  total_pages: z.number().int(),
  total_count: z.number().int(),
});

export const WebhookEndpointObjectSchema = z.object({
  lago_id: z.string(),
  lago_organization_id: z.string(),
  webhook_url: z.string(),
  signature_algo: z.enum(['hmac', 'jwt']),
  name: z.string().nullable(),
  event_types: z.array(z.string()).nullable(),
  created_at: z.string(),
});

export const WebhookEndpointResponse = z.object({ webhook_endpoint: WebhookEndpointObjectSchema });
export const WebhookEndpointsPaginatedResponse = z.object({ webhook_endpoints: z.array(WebhookEndpointObjectSchema), meta: PaginationMetaSchema });
export const WebhookPublicKeyResponse = z.object({ webhook: z.object({ public_key: z.string() }) });
export const WebhookHmacKeyResponse = z.object({ webhook: z.object({ hmac_key: z.string() }) });

const WebhookAttemptSchema = z.object({
  attempt: z.number().int(),
  webhook_url: z.string(),
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
  succeeded: z.boolean(),
  started_at: z.string(),
  finished_at: z.string(),
});

export const WebhookObjectSchema = z.object({
  lago_id: z.string(),
  lago_organization_id: z.string(),
  lago_webhook_endpoint_id: z.string(),
  webhook_type: z.string(),
  object_type: z.string(),
  lago_object_id: z.string().nullable(),
  status: z.enum(WEBHOOK_STATUSES),
  retries: z.number().int(),
  attempts: z.number().int(),
  http_status: z.number().int().nullable(),
  endpoint: z.string(),
  payload: z.unknown(),
  response: z.string().nullable(),
  last_retried_at: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  attempts_log: z.array(WebhookAttemptSchema).optional(),
});

export const WebhookResponse = z.object({ webhook: WebhookObjectSchema });
export const WebhooksPaginatedResponse = z.object({ webhooks: z.array(WebhookObjectSchema), meta: PaginationMetaSchema });
