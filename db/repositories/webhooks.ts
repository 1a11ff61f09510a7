// Outgoing webhooks (migration 20261201000600): endpoints, the outbox, the delivery log and the signing keys.
// The only place these rows become domain records. Every query is scoped by organization_id, except
// claimDueWebhooks: the delivery worker serves every organization, so its claim is fleet-wide by design (each
// claimed row carries its organization, and everything done with it afterwards is scoped again).
//
// enqueueWebhook is THE producer API: it writes one outbox row per matching endpoint in the caller's
// transaction, so the announcement commits with the change it announces, or not at all.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { recordOutboxActivity } from './activity-logs';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export const MAX_WEBHOOK_ENDPOINTS = 10;

export type SignatureAlgo = 'hmac' | 'jwt';
export const SIGNATURE_ALGOS: readonly SignatureAlgo[] = ['hmac', 'jwt'];

export type WebhookStatus = 'pending' | 'retrying' | 'succeeded' | 'failed';

export interface WebhookEndpointRecord {
  id: string;
  organizationId: string;
  webhookUrl: string;
  name: string | null;
  signatureAlgo: SignatureAlgo;
  /** null = every webhook type. */
  eventTypes: string[] | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookEndpointInput {
  webhookUrl: string;
  name?: string | null;
  signatureAlgo?: SignatureAlgo | null;
  eventTypes?: string[] | null;
}

export interface WebhookRecord {
  id: string;
  organizationId: string;
  webhookEndpointId: string;
  webhookUrl: string;
  webhookType: string;
  objectType: string;
  objectId: string | null;
  uniqueKey: string;
  /** The exact JSON body sent (and signed) on every attempt; null until rendered. */
  payload: string | null;
  status: WebhookStatus;
  attempts: number;
  attemptsBeforeRetry: number;
  nextAttemptAt: string;
  lastAttemptAt: string | null;
  httpStatus: number | null;
  response: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookAttemptRecord {
  attempt: number;
  webhookUrl: string;
  httpStatus: number | null;
  error: string | null;
  succeeded: boolean;
  startedAt: string;
  finishedAt: string;
}

export class WebhookEndpointLimitError extends Error {
  constructor() {
    super(`An organization has at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints`);
    this.name = 'WebhookEndpointLimitError';
  }
}

function iso(d: Date | null | undefined): string | null {
  return d == null ? null : d.toISOString();
}

function endpointFromRow(r: Record<string, any>): WebhookEndpointRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    webhookUrl: r.webhook_url,
    name: r.name ?? null,
    signatureAlgo: r.signature_algo,
    eventTypes: Array.isArray(r.event_types) ? r.event_types.map(String) : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function webhookFromRow(r: Record<string, any>): WebhookRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    webhookEndpointId: r.webhook_endpoint_id,
    webhookUrl: r.webhook_url,
    webhookType: r.webhook_type,
    objectType: r.object_type,
    objectId: r.object_id ?? null,
    uniqueKey: r.unique_key,
    payload: r.payload ?? null,
    status: r.status,
    attempts: Number(r.attempts),
    attemptsBeforeRetry: Number(r.attempts_before_retry),
    nextAttemptAt: r.next_attempt_at.toISOString(),
    lastAttemptAt: iso(r.last_attempt_at),
    httpStatus: r.http_status ?? null,
    response: r.response ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------------------
// Endpoints

/** Creates an endpoint; throws WebhookEndpointLimitError for the 11th (concurrent creates serialize on the org row). */
export async function createWebhookEndpoint(db: Knex, organizationId: string, input: WebhookEndpointInput): Promise<WebhookEndpointRecord> {
  return db.transaction(async (trx) => {
    await trx('organizations').where({ id: organizationId }).forUpdate().first('id');
    const count = (await trx('webhook_endpoints').where({ organization_id: organizationId }).count<{ n: string }[]>({ n: '*' }).first()) as { n: string };
    if (Number(count.n) >= MAX_WEBHOOK_ENDPOINTS) throw new WebhookEndpointLimitError();
    const [row] = await trx('webhook_endpoints')
      .insert({
        organization_id: organizationId,
        webhook_url: input.webhookUrl,
        name: input.name ?? null,
        signature_algo: input.signatureAlgo ?? 'jwt',
        event_types: input.eventTypes == null ? null : JSON.stringify(input.eventTypes),
      })
      .returning('*');
    return endpointFromRow(row);
  });
}

export async function getWebhookEndpoint(db: Db, organizationId: string, id: string): Promise<WebhookEndpointRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await db('webhook_endpoints').where({ organization_id: organizationId, id }).first();
  return row ? endpointFromRow(row) : null;
}

/** Oldest first. */
export async function listWebhookEndpoints(
  db: Db,
  organizationId: string,
  page: { page: number; perPage: number },
): Promise<{ endpoints: WebhookEndpointRecord[]; totalCount: number }> {
  const count = (await db('webhook_endpoints').where({ organization_id: organizationId }).count<{ n: string }[]>({ n: '*' }).first()) as { n: string };
  const rows = await db('webhook_endpoints')
    .where({ organization_id: organizationId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(page.perPage)
    .offset((page.page - 1) * page.perPage);
  return { endpoints: rows.map(endpointFromRow), totalCount: Number(count.n) };
}

/** Lago's PUT: webhook_url required; the other fields change only when given. */
export async function updateWebhookEndpoint(db: Db, organizationId: string, id: string, input: WebhookEndpointInput): Promise<WebhookEndpointRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const values: Record<string, unknown> = { webhook_url: input.webhookUrl, updated_at: db.fn.now() };
  if (input.name !== undefined) values.name = input.name;
  if (input.signatureAlgo != null) values.signature_algo = input.signatureAlgo;
  if (input.eventTypes !== undefined) values.event_types = input.eventTypes === null ? null : JSON.stringify(input.eventTypes);
  const [row] = await db('webhook_endpoints').where({ organization_id: organizationId, id }).update(values).returning('*');
  return row ? endpointFromRow(row) : null;
}

/** Deletes the endpoint and its outbox rows and log (nothing more is delivered to it). */
export async function deleteWebhookEndpoint(db: Db, organizationId: string, id: string): Promise<WebhookEndpointRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const [row] = await db('webhook_endpoints').where({ organization_id: organizationId, id }).delete().returning('*');
  return row ? endpointFromRow(row) : null;
}

// ---------------------------------------------------------------------------------------------------------
// Producer API (the outbox)

export interface WebhookEvent {
  organizationId: string;
  /** Lago's webhook type, e.g. `customer.created`. */
  webhookType: string;
  /** Lago's object type, also the payload key of the object, e.g. `customer`, `invoice`, `triggered_alert`. */
  objectType: string;
  /**
   * The serialized object, exactly as the payload carries it. Omit it (and give objectId) to have the delivery
   * render it at its first attempt (for objects whose serializer lives outside db/: invoices).
   */
  object?: Record<string, unknown>;
  /** The object's id (defaults to object.lago_id). */
  objectId?: string | null;
  /** The business key of the event (e.g. `customer.created:<customer id>`): a producer run twice enqueues once. */
  uniqueKey: string;
}

/** The body Lago sends: {webhook_type, object_type, organization_id, <object_type>: object}. */
export function webhookPayload(e: { organizationId: string; webhookType: string; objectType: string }, object: unknown): string {
  return JSON.stringify({ webhook_type: e.webhookType, object_type: e.objectType, organization_id: e.organizationId, [e.objectType]: object });
}

function endpointWants(eventTypes: unknown, webhookType: string): boolean {
  return !Array.isArray(eventTypes) || eventTypes.includes(webhookType);
}

/**
 * Writes one outbox row per endpoint of the organization whose event_types filter admits the event, in the
 * caller's transaction `trx`. Idempotent on (endpoint, uniqueKey). Returns how many rows were new.
 */
export async function enqueueWebhook(trx: Knex.Transaction, e: WebhookEvent): Promise<number> {
  // ops13g (issue 13): the activity log of the change this webhook announces, in the same transaction.
  await recordOutboxActivity(trx, { ...e, objectId: e.objectId ?? (typeof e.object?.lago_id === 'string' ? e.object.lago_id : null) });
  const endpoints: { id: string; event_types: unknown }[] = await trx('webhook_endpoints')
    .where({ organization_id: e.organizationId })
    .select('id', 'event_types');
  const targets = endpoints.filter((ep) => endpointWants(ep.event_types, e.webhookType));
  if (targets.length === 0) return 0;
  const objectId = e.objectId ?? (typeof e.object?.lago_id === 'string' ? e.object.lago_id : null);
  const payload = e.object === undefined ? null : webhookPayload(e, e.object);
  const inserted: { id: string }[] = await trx('webhooks')
    .insert(
      targets.map((ep) => ({
        organization_id: e.organizationId,
        webhook_endpoint_id: ep.id,
        webhook_type: e.webhookType,
        object_type: e.objectType,
        object_id: objectId,
        unique_key: e.uniqueKey,
        payload,
      })),
    )
    .onConflict(['webhook_endpoint_id', 'unique_key'])
    .ignore()
    .returning('id');
  return inserted.length;
}

// ---------------------------------------------------------------------------------------------------------
// Delivery

export interface ClaimedWebhook extends WebhookRecord {
  signatureAlgo: SignatureAlgo;
  /** The number of the attempt this claim is (attempts + 1 before the claim). */
  attempt: number;
}

/**
 * Claims up to `limit` due webhooks (pending or retrying, next_attempt_at <= now) with FOR UPDATE SKIP LOCKED,
 * counts the attempt and pushes next_attempt_at to now + leaseMs: concurrent workers never claim the same row,
 * and a worker that dies mid-delivery leaves the row due again after its lease. Oldest due first.
 */
export async function claimDueWebhooks(db: Knex, opts: { now: Date; limit: number; leaseMs: number }): Promise<ClaimedWebhook[]> {
  const result: { rows: Record<string, any>[] } = await db.raw(
    `WITH due AS (
       SELECT id FROM webhooks
        WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ?
        ORDER BY next_attempt_at, id
        LIMIT ?
        FOR UPDATE SKIP LOCKED
     )
     UPDATE webhooks w
        SET attempts = w.attempts + 1, next_attempt_at = ?, updated_at = ?
       FROM due, webhook_endpoints e
      WHERE w.id = due.id AND e.id = w.webhook_endpoint_id AND e.organization_id = w.organization_id
     RETURNING w.*, e.webhook_url, e.signature_algo`,
    [opts.now, opts.limit, new Date(opts.now.getTime() + opts.leaseMs), opts.now],
  );
  return result.rows.map((r) => ({ ...webhookFromRow(r), signatureAlgo: r.signature_algo, attempt: Number(r.attempts) }));
}

/** The earliest next_attempt_at of a webhook still to deliver, or null when there is none. */
export async function nextWebhookDueAt(db: Knex): Promise<Date | null> {
  const row = (await db('webhooks').whereIn('status', ['pending', 'retrying']).min({ at: 'next_attempt_at' }).first()) as { at: Date | null } | undefined;
  return row?.at ?? null;
}

/** Stores the rendered body of a webhook enqueued without its object (only while it has none). */
export async function setWebhookPayload(db: Db, organizationId: string, id: string, payload: string): Promise<string> {
  const [row] = await db('webhooks').where({ organization_id: organizationId, id }).whereNull('payload').update({ payload }).returning('payload');
  if (row) return row.payload;
  const existing = await db('webhooks').where({ organization_id: organizationId, id }).first('payload');
  return existing.payload;
}

export interface WebhookAttemptResult {
  organizationId: string;
  webhookId: string;
  attempt: number;
  webhookUrl: string;
  httpStatus: number | null;
  error: string | null;
  succeeded: boolean;
  /** Response body (truncated by the caller). */
  response: string | null;
  startedAt: Date;
  finishedAt: Date;
  /** What the webhook becomes: succeeded, retrying (due again at nextAttemptAt) or failed. */
  status: 'succeeded' | 'retrying' | 'failed';
  nextAttemptAt: Date;
}

/**
 * Logs one attempt and moves the webhook to its next status, in one transaction. A stale result (the row was
 * claimed again since: its attempts moved on) is logged but does not change the row.
 */
export async function recordWebhookAttempt(db: Knex, r: WebhookAttemptResult): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('webhook_attempts')
      .insert({
        organization_id: r.organizationId,
        webhook_id: r.webhookId,
        attempt: r.attempt,
        webhook_url: r.webhookUrl,
        http_status: r.httpStatus,
        error: r.error,
        succeeded: r.succeeded,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
      })
      .onConflict(['webhook_id', 'attempt'])
      .ignore();
    await trx('webhooks')
      .where({ organization_id: r.organizationId, id: r.webhookId, attempts: r.attempt })
      .whereIn('status', ['pending', 'retrying'])
      .update({
        status: r.status,
        next_attempt_at: r.nextAttemptAt,
        last_attempt_at: r.startedAt,
        http_status: r.httpStatus,
        response: r.response ?? r.error,
        updated_at: r.finishedAt,
      });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Delivery log and manual retry

function webhooksQuery(db: Db, organizationId: string): Knex.QueryBuilder {
  return db('webhooks as w')
    .join('webhook_endpoints as e', 'e.id', 'w.webhook_endpoint_id')
    .where('w.organization_id', organizationId)
    .select('w.*', 'e.webhook_url');
}

/** Newest first. */
export async function listWebhooks(
  db: Db,
  organizationId: string,
  q: { webhookEndpointId?: string; status?: WebhookStatus; webhookType?: string; page: number; perPage: number },
): Promise<{ webhooks: WebhookRecord[]; totalCount: number }> {
  if (q.webhookEndpointId !== undefined && !UUID_RE.test(q.webhookEndpointId)) return { webhooks: [], totalCount: 0 };
  const filtered = () => {
    const b = webhooksQuery(db, organizationId);
    if (q.webhookEndpointId) b.where('w.webhook_endpoint_id', q.webhookEndpointId);
    if (q.status) b.where('w.status', q.status);
    if (q.webhookType) b.where('w.webhook_type', q.webhookType);
    return b;
  };
  const count = (await filtered().clearSelect().count<{ n: string }[]>({ n: '*' }).first()) as { n: string };
  const rows = await filtered()
    .orderBy([{ column: 'w.created_at', order: 'desc' }, { column: 'w.id', order: 'desc' }])
    .limit(q.perPage)
    .offset((q.page - 1) * q.perPage);
  return { webhooks: rows.map(webhookFromRow), totalCount: Number(count.n) };
}

export async function getWebhook(db: Db, organizationId: string, id: string): Promise<(WebhookRecord & { attemptsLog: WebhookAttemptRecord[] }) | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await webhooksQuery(db, organizationId).where('w.id', id).first();
  if (!row) return null;
  const attempts: Record<string, any>[] = await db('webhook_attempts').where({ organization_id: organizationId, webhook_id: id }).orderBy('attempt');
  return {
    ...webhookFromRow(row),
    attemptsLog: attempts.map((a) => ({
      attempt: a.attempt,
      webhookUrl: a.webhook_url,
      httpStatus: a.http_status ?? null,
      error: a.error ?? null,
      succeeded: a.succeeded,
      startedAt: a.started_at.toISOString(),
      finishedAt: a.finished_at.toISOString(),
    })),
  };
}

/**
 * Manual retry of a FAILED webhook: due now, with a fresh retry budget (attempts_before_retry = attempts).
 * Returns 'not_found', 'not_failed' (pending, retrying or succeeded: nothing to retry) or the webhook.
 */
export async function retryWebhook(db: Db, organizationId: string, id: string, now: Date): Promise<WebhookRecord | 'not_found' | 'not_failed'> {
  if (!UUID_RE.test(id)) return 'not_found';
  const updated: { id: string }[] = await db('webhooks')
    .where({ organization_id: organizationId, id, status: 'failed' })
    .update({ status: 'retrying', next_attempt_at: now, attempts_before_retry: db.ref('attempts'), updated_at: now })
    .returning('id');
  const row = await webhooksQuery(db, organizationId).where('w.id', id).first();
  if (!row) return 'not_found';
  if (updated.length === 0) return 'not_failed';
  return webhookFromRow(row);
}

// ---------------------------------------------------------------------------------------------------------
// Signing keys (one set per organization, generated on first use)

export interface WebhookKeys {
  hmacKey: string;
  publicKeyPem: string;
  privateKeyPem: string;
}

const generateKeyPair = promisify(crypto.generateKeyPair);

/** The organization's keys, generated and stored once (concurrent first uses keep the first stored set). */
export async function getWebhookKeys(db: Knex, organizationId: string): Promise<WebhookKeys> {
  const existing = await db('webhook_keys').where({ organization_id: organizationId }).first();
  if (existing) return { hmacKey: existing.hmac_key, publicKeyPem: existing.jwt_public_key_pem, privateKeyPem: existing.jwt_private_key_pem };
  const { publicKey, privateKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await db('webhook_keys')
    .insert({ organization_id: organizationId, hmac_key: crypto.randomBytes(32).toString('hex'), jwt_public_key_pem: publicKey, jwt_private_key_pem: privateKey })
    .onConflict('organization_id')
    .ignore();
  const row = await db('webhook_keys').where({ organization_id: organizationId }).first();
  return { hmacKey: row.hmac_key, publicKeyPem: row.jwt_public_key_pem, privateKeyPem: row.jwt_private_key_pem };
}
