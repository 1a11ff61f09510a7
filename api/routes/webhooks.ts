// Outgoing webhooks, Lago's API (OpenAPI 1.51 `webhook_endpoints` and `webhooks` tags) plus the delivery log:
//   POST/GET /webhook_endpoints, GET/PUT/DELETE /webhook_endpoints/:lago_id   {webhook_endpoint: {...}}
//     at most 10 per organization (the 11th: 422 base: exceeded_limit); webhook_url http(s) only;
//     signature_algo hmac | jwt (default jwt, as Lago); event_types null = every type.
//   GET /webhooks/public_key        the RS256 public key (base64 of its PEM), text/plain, as Lago
//   GET /webhooks/json_public_key   the same, {webhook: {public_key}}
//   GET /webhooks/hmac_key          Meterline: the organization's HMAC key, {webhook: {hmac_key}} (Lago shows it in its UI)
//   GET /webhooks                   Meterline: the delivery log, newest first (filters webhook_endpoint_id, status, webhook_type)
//   GET /webhooks/:lago_id          one webhook with every attempt (status code, error, timing)
//   POST /webhooks/:lago_id/retry   Meterline: a failed webhook is due again at once with a fresh retry budget
//                                   (422 status: not_failed otherwise) — Lago retries from its UI (GraphQL)
import { Router } from 'express';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhook,
  getWebhookEndpoint,
  getWebhookKeys,
  listWebhookEndpoints,
  listWebhooks,
  retryWebhook,
  updateWebhookEndpoint,
  WebhookEndpointLimitError,
  type WebhookAttemptRecord,
  type WebhookEndpointRecord,
  type WebhookRecord,
} from '../../db/repositories/webhooks';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { WebhookEndpointCreateBody, WebhookEndpointUpdateBody, WebhookListQuery } from '../schemas/webhooks';

export function serializeWebhookEndpoint(e: WebhookEndpointRecord) {
  return {
    lago_id: e.id,
    lago_organization_id: e.organizationId,
    webhook_url: e.webhookUrl,
    signature_algo: e.signatureAlgo,
    name: e.name,
    event_types: e.eventTypes,
    created_at: e.createdAt,
  };
}

function parsePayload(payload: string | null): unknown {
  if (payload === null) return null;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

export function serializeWebhook(w: WebhookRecord, attemptsLog?: WebhookAttemptRecord[]) {
  return {
    lago_id: w.id,
    lago_organization_id: w.organizationId,
    lago_webhook_endpoint_id: w.webhookEndpointId,
    webhook_type: w.webhookType,
    object_type: w.objectType,
    lago_object_id: w.objectId,
    status: w.status,
    // Lago's `retries`: attempts after the first.
    retries: Math.max(0, w.attempts - 1),
    attempts: w.attempts,
    http_status: w.httpStatus,
    endpoint: w.webhookUrl,
    payload: parsePayload(w.payload),
    response: w.response,
    last_retried_at: w.attempts > 1 ? w.lastAttemptAt : null,
    next_attempt_at: w.status === 'pending' || w.status === 'retrying' ? w.nextAttemptAt : null,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    ...(attemptsLog
      ? {
          attempts_log: attemptsLog.map((a) => ({
            attempt: a.attempt,
            webhook_url: a.webhookUrl,
            http_status: a.httpStatus,
            error: a.error,
            succeeded: a.succeeded,
            started_at: a.startedAt,
            finished_at: a.finishedAt,
          })),
        }
      : {}),
  };
}

function endpointInput(input: { webhook_url: string; signature_algo?: 'hmac' | 'jwt' | null; name?: string | null; event_types?: string[] | null }) {
  return { webhookUrl: input.webhook_url, signatureAlgo: input.signature_algo, name: input.name, eventTypes: input.event_types };
}

export function webhookRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/webhook_endpoints', async (req, res) => {
    const input = parseBody(WebhookEndpointCreateBody, req.body).webhook_endpoint;
    try {
      const endpoint = await createWebhookEndpoint(ctx.db, orgId(res), endpointInput(input));
      res.status(200).json({ webhook_endpoint: serializeWebhookEndpoint(endpoint) });
    } catch (err) {
      if (err instanceof WebhookEndpointLimitError) throw validationError({ base: ['exceeded_limit'] });
      throw err;
    }
  });

  r.get('/webhook_endpoints', async (req, res) => {
    const q = parseBody(paginationQuery, req.query);
    const { endpoints, totalCount } = await listWebhookEndpoints(ctx.db, orgId(res), { page: q.page, perPage: q.per_page });
    res.json({ webhook_endpoints: endpoints.map(serializeWebhookEndpoint), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/webhook_endpoints/:lago_id', async (req, res) => {
    const endpoint = await getWebhookEndpoint(ctx.db, orgId(res), req.params.lago_id);
    if (!endpoint) throw notFound('webhook_endpoint');
    res.json({ webhook_endpoint: serializeWebhookEndpoint(endpoint) });
  });

  r.put('/webhook_endpoints/:lago_id', async (req, res) => {
    const input = parseBody(WebhookEndpointUpdateBody, req.body).webhook_endpoint;
    const endpoint = await updateWebhookEndpoint(ctx.db, orgId(res), req.params.lago_id, endpointInput(input));
    if (!endpoint) throw notFound('webhook_endpoint');
    res.json({ webhook_endpoint: serializeWebhookEndpoint(endpoint) });
  });

  r.delete('/webhook_endpoints/:lago_id', async (req, res) => {
    const endpoint = await deleteWebhookEndpoint(ctx.db, orgId(res), req.params.lago_id);
    if (!endpoint) throw notFound('webhook_endpoint');
    res.json({ webhook_endpoint: serializeWebhookEndpoint(endpoint) });
  });

  // Static paths before /webhooks/:lago_id.
  r.get('/webhooks/public_key', async (_req, res) => {
    const keys = await getWebhookKeys(ctx.db, orgId(res));
    res.type('text/plain').send(Buffer.from(keys.publicKeyPem).toString('base64'));
  });

  r.get('/webhooks/json_public_key', async (_req, res) => {
    const keys = await getWebhookKeys(ctx.db, orgId(res));
    res.json({ webhook: { public_key: Buffer.from(keys.publicKeyPem).toString('base64') } });
  });

  r.get('/webhooks/hmac_key', async (_req, res) => {
    const keys = await getWebhookKeys(ctx.db, orgId(res));
    res.json({ webhook: { hmac_key: keys.hmacKey } });
  });

  r.get('/webhooks', async (req, res) => {
    const q = parseBody(WebhookListQuery, req.query);
    const { webhooks, totalCount } = await listWebhooks(ctx.db, orgId(res), {
      webhookEndpointId: q.webhook_endpoint_id,
      status: q.status,
      webhookType: q.webhook_type,
      page: q.page,
      perPage: q.per_page,
    });
    res.json({ webhooks: webhooks.map((w) => serializeWebhook(w)), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/webhooks/:lago_id', async (req, res) => {
    const w = await getWebhook(ctx.db, orgId(res), req.params.lago_id);
    if (!w) throw notFound('webhook');
    res.json({ webhook: serializeWebhook(w, w.attemptsLog) });
  });

  r.post('/webhooks/:lago_id/retry', async (req, res) => {
    const organizationId = orgId(res);
    const result = await retryWebhook(ctx.db, organizationId, req.params.lago_id, new Date());
    if (result === 'not_found') throw notFound('webhook');
    if (result === 'not_failed') throw validationError({ status: ['not_failed'] });
    res.json({ webhook: serializeWebhook(result) });
  });

  return r;
}
