// Outgoing webhook delivery (the activity the webhookDeliveryWorkflow calls in a loop).
//
// deliverPendingWebhooks claims the due outbox rows (FOR UPDATE SKIP LOCKED, with a lease: see
// claimDueWebhooks), sends each one once, logs the attempt and schedules the next one:
// - a 2xx answer within timeoutMs = delivered (succeeded); anything else (non-2xx, redirect, timeout, refused
//   connection, DNS error) = failed attempt, retried after baseDelayMs × 2^(n-1) (n = failed attempts so far),
//   until maxAttempts attempts have failed (then `failed`; a manual retry gives a fresh budget).
// - Defaults: 8 attempts, first retry after 2 min, doubling: 2+4+8+16+32+64+128 min ≈ 4 h 14 min from the first
//   attempt to the last. Timeout 10 s per attempt.
// Receiver failures are recorded, never thrown; only database faults throw (Temporal retries the activity,
// and the lease makes the rows due again): a webhook is never lost when the receiver or the worker is down.
//
// Signatures, as Lago signs (X-Lago-Signature-Algorithm says which):
// - hmac: base64(HMAC-SHA256(body, organization HMAC key));
// - jwt: an RS256 JWT whose claims are {data: <the body, as a JSON string>, iss: <issuer>} (Lago's claim names),
//   verifiable with the organization's public key (GET /api/v1/webhooks/public_key, base64 of the PEM).
// X-Lago-Unique-Key is the outbox row's id: the same on every attempt of one (endpoint, event).
import crypto from 'node:crypto';
import { importPKCS8, SignJWT, type KeyLike } from 'jose';
import type { Knex } from 'knex';
import {
  claimDueWebhooks,
  getWebhookKeys,
  nextWebhookDueAt,
  recordWebhookAttempt,
  setWebhookPayload,
  webhookPayload,
  type ClaimedWebhook,
  type WebhookKeys,
} from '../db/repositories/webhooks';

export interface WebhookDeliveryOptions {
  /** Attempts before a webhook is `failed` (default 8). */
  maxAttempts?: number;
  /** Wait before the first retry; doubles after each failed attempt (default 120 000 ms). */
  baseDelayMs?: number;
  /** Per attempt (connect + answer), default 10 000 ms. */
  timeoutMs?: number;
  /** Rows claimed per activity run (default 20), sent in parallel. */
  batchSize?: number;
  /** JWT `iss` claim: the public API URL (METERLINE_PUBLIC_URL), default `meterline`. */
  issuer?: string;
  /** The clock (tests advance it to make retries due without waiting). */
  now?: () => Date;
}

/** Renders an object enqueued by id only (enqueueWebhook without `object`), e.g. an invoice, as Lago serializes it. */
/** webhookType tells objects of one type apart whose id names another record (usage_threshold_reached: its progressive invoice). */
export type WebhookObjectRenderer = (db: Knex, organizationId: string, objectType: string, objectId: string, webhookType: string) => Promise<Record<string, unknown>>;

export interface WebhookActivityDeps {
  db: Knex;
  webhooks?: WebhookDeliveryOptions;
  renderWebhookObject?: WebhookObjectRenderer;
}

export interface DeliverPendingWebhooksResult {
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
  /** Rows claimed per run: a full batch means more may be due now. */
  batchSize: number;
  /** Milliseconds until the next webhook is due (0 = due now), null when nothing is left to deliver. */
  nextDueInMs: number | null;
}

export interface WebhookActivities {
  deliverPendingWebhooks(): Promise<DeliverPendingWebhooksResult>;
}

const MAX_RESPONSE_CHARS = 2000;

export function hmacSignature(body: string, hmacKey: string): string {
  return crypto.createHmac('sha256', hmacKey).update(body).digest('base64');
}

export async function jwtSignature(body: string, privateKey: KeyLike, issuer: string): Promise<string> {
  return new SignJWT({ data: body }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuer(issuer).sign(privateKey);
}

/** Delay before retry after `failedAttempts` failed attempts (1 → base, 2 → 2 × base, …). */
export function retryDelayMs(failedAttempts: number, baseDelayMs: number): number {
  return baseDelayMs * 2 ** Math.max(0, failedAttempts - 1);
}

interface SendOutcome {
  httpStatus: number | null;
  error: string | null;
  response: string | null;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<SendOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'Meterline-Webhooks/1', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text().catch(() => '');
    const ok = res.status >= 200 && res.status < 300;
    return { httpStatus: res.status, error: ok ? null : `http_${res.status}`, response: text.slice(0, MAX_RESPONSE_CHARS) || null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { httpStatus: null, error: String(reason).slice(0, MAX_RESPONSE_CHARS), response: null };
  }
}

export function createWebhookActivities(deps: WebhookActivityDeps): WebhookActivities {
  const { db } = deps;
  const o = deps.webhooks ?? {};
  const maxAttempts = o.maxAttempts ?? 8;
  const baseDelayMs = o.baseDelayMs ?? 120_000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const batchSize = o.batchSize ?? 20;
  const issuer = o.issuer ?? 'meterline';
  const now = o.now ?? (() => new Date());
  const privateKeys = new Map<string, Promise<KeyLike>>();

  function privateKeyOf(organizationId: string, keys: WebhookKeys): Promise<KeyLike> {
    let k = privateKeys.get(organizationId);
    if (!k) {
      k = importPKCS8(keys.privateKeyPem, 'RS256');
      privateKeys.set(organizationId, k);
    }
    return k;
  }

  async function bodyOf(w: ClaimedWebhook): Promise<string> {
    if (w.payload !== null) return w.payload;
    if (!deps.renderWebhookObject || w.objectId === null) throw new Error(`no renderer for ${w.objectType} webhooks`);
    const object = await deps.renderWebhookObject(db, w.organizationId, w.objectType, w.objectId, w.webhookType);
    return setWebhookPayload(db, w.organizationId, w.id, webhookPayload(w, object));
  }

  async function attempt(w: ClaimedWebhook): Promise<'succeeded' | 'retrying' | 'failed'> {
    const startedAt = now();
    let outcome: SendOutcome;
    try {
      const body = await bodyOf(w);
      const keys = await getWebhookKeys(db, w.organizationId);
      const signature = w.signatureAlgo === 'hmac' ? hmacSignature(body, keys.hmacKey) : await jwtSignature(body, await privateKeyOf(w.organizationId, keys), issuer);
      outcome = await post(
        w.webhookUrl,
        body,
        { 'X-Lago-Signature': signature, 'X-Lago-Signature-Algorithm': w.signatureAlgo, 'X-Lago-Unique-Key': w.id },
        timeoutMs,
      );
    } catch (err) {
      outcome = { httpStatus: null, error: `could not prepare the webhook: ${(err as Error).message}`.slice(0, MAX_RESPONSE_CHARS), response: null };
    }
    const finishedAt = now();
    const succeeded = outcome.error === null;
    const failedInBudget = w.attempt - w.attemptsBeforeRetry;
    const status = succeeded ? 'succeeded' : failedInBudget >= maxAttempts ? 'failed' : 'retrying';
    await recordWebhookAttempt(db, {
      organizationId: w.organizationId,
      webhookId: w.id,
      attempt: w.attempt,
      webhookUrl: w.webhookUrl,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      succeeded,
      response: outcome.response,
      startedAt,
      finishedAt,
      status,
      nextAttemptAt: status === 'retrying' ? new Date(startedAt.getTime() + retryDelayMs(failedInBudget, baseDelayMs)) : startedAt,
    });
    return status;
  }

  return {
    async deliverPendingWebhooks(): Promise<DeliverPendingWebhooksResult> {
      const claimed = await claimDueWebhooks(db, { now: now(), limit: batchSize, leaseMs: timeoutMs * 3 + 30_000 });
      const outcomes = await Promise.all(claimed.map(attempt));
      const next = await nextWebhookDueAt(db);
      return {
        claimed: claimed.length,
        succeeded: outcomes.filter((s) => s === 'succeeded').length,
        retrying: outcomes.filter((s) => s === 'retrying').length,
        failed: outcomes.filter((s) => s === 'failed').length,
        batchSize,
        nextDueInMs: next === null ? null : Math.max(0, next.getTime() - now().getTime()),
      };
    },
  };
}
