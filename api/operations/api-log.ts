// Lago's API logs (ops13g, issue 13): every write request under /api/v1 (POST, PUT, DELETE) of an authenticated
// organization, with its status, request body and response, kept in Postgres (db/repositories/api-logs.ts).
//
// Off the critical path, by construction:
// - The event ingest posts (POST /api/v1/events, /events/batch) are NOT logged: the middleware is mounted after
//   their routes, so they never reach it (a chosen difference from Lago, which logs them; the ingest path's cost
//   is issue 7's). GETs are not logged either (Lago's API logs list post, put and delete); nor PATCH (Lago has none).
// - A request only captures references (its raw body buffer, the response string) and pushes one record to an
//   in-memory buffer when its response has finished; redaction, JSON parsing and the insert happen later, in
//   batches (one multi-row INSERT per flush, every `flushMs` or as soon as `batchSize` records wait).
// - Bounded memory: at most `maxBuffered` records and `maxBufferedBytes` of bodies wait; beyond, new records are
//   dropped and counted (`dropped`). A body over `maxBodyBytes` (256 KiB) is replaced by a marker at capture.
// - A failed insert is logged (warn) and its batch dropped: logging never fails nor slows a request.
// - Never stored: the Authorization header (only the key's sha256, resolved to the key's id at insert, is
//   held in memory), and secret fields of bodies (password, secret, token, hmac_key, private_key, api_key, ...)
//   are replaced by "[REDACTED]"; API keys, Stripe keys, webhook secrets and bearer tokens inside any string are
//   scrubbed by config/logger.ts's patterns (so the `value` of a new API key is never stored).
// - Activity logs of the successful writes whose resource the outbox does not announce are recorded from their
//   answers in the same batches (api/operations/activity-capture.ts; after the commit: a crash between the answer and
//   the flush loses those entries, unlike the outbox-written ones).
// - Retention: rows older than `retentionDays` (default 30) are deleted by the writer, at most every 10 minutes.
import crypto from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { scrubSecrets } from '../../config/logger';
import { recordApiActivities, type ApiActivity } from '../../db/repositories/activity-logs';
import { insertApiLogs, pruneApiLogs, type ApiLogRow } from '../../db/repositories/api-logs';
import { activityOf } from './activity-capture';
import type { Logger } from '../errors';

export interface ApiLogOptions {
  flushMs?: number;
  batchSize?: number;
  maxBuffered?: number;
  maxBufferedBytes?: number;
  maxBodyBytes?: number;
  retentionDays?: number;
}

const LOGGED_METHODS = new Set(['POST', 'PUT', 'DELETE']);
const SECRET_FIELDS = new Set([
  'authorization', 'password', 'secret', 'secret_key', 'secretkey', 'token', 'portal_token', 'api_key', 'apikey', 'hmac_key', 'private_key',
  'privatekey', 'webhook_secret', 'stripe_secret_key', 'client_secret',
]);
const PRUNE_EVERY_MS = 10 * 60_000;

interface Pending {
  organizationId: string;
  requestId: string;
  apiKeyHash: string | null;
  client: string;
  httpMethod: string;
  httpStatus: number;
  requestOrigin: string;
  requestPath: string;
  requestBody: Buffer | string | null;
  response: string | null;
  loggedAt: Date;
  bytes: number;
}

/** A JSON text with secret fields replaced and secret-looking strings scrubbed; null/empty → `{}` for a request. */
export function redactJson(text: string | null): string | null {
  if (text === null || text === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return JSON.stringify({ unparsed: true });
  }
  const out = JSON.stringify(parsed, (k, v) => (k !== '' && SECRET_FIELDS.has(k.toLowerCase()) && v !== null ? '[REDACTED]' : v));
  return scrubSecrets(out);
}

/** The activity logs of a batch's successful writes (api/operations/activity-capture.ts), from the redacted answers. */
function activitiesOf(pending: Pending[], rows: ApiLogRow[]): ApiActivity[] {
  const out: ApiActivity[] = [];
  pending.forEach((p, i) => {
    const text = rows[i]!.requestResponse;
    if (text === null || p.httpStatus < 200 || p.httpStatus > 299) return;
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      return;
    }
    const a = activityOf(p.httpMethod.toUpperCase(), p.requestPath, p.httpStatus, answer);
    if (!a) return;
    const o = a.object;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    out.push({
      organizationId: p.organizationId,
      uniqueKey: `api:${p.requestId}`,
      activityType: a.activityType,
      resourceType: a.resourceType,
      resourceId: o.lago_id as string,
      object: o,
      apiKeyHash: p.apiKeyHash,
      externalCustomerId: a.resourceType === 'Customer' ? str(o.external_id) : str(o.external_customer_id),
      externalSubscriptionId: a.resourceType === 'Subscription' ? str(o.external_id) : str(o.external_subscription_id),
      loggedAt: p.loggedAt,
    });
  });
  return out;
}

export class ApiLogWriter {
  private buffer: Pending[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastPrune = 0;
  dropped = 0;
  private readonly o: Required<ApiLogOptions>;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    options: ApiLogOptions = {},
  ) {
    this.o = {
      flushMs: options.flushMs ?? 1000,
      batchSize: options.batchSize ?? 200,
      maxBuffered: options.maxBuffered ?? 5000,
      maxBufferedBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024,
      maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
      retentionDays: options.retentionDays ?? 30,
    };
  }

  /** The middleware: mounted on /api/v1 after authentication and after the ingest posts' routes. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      if (!LOGGED_METHODS.has(req.method)) {
        next();
        return;
      }
      let response: string | null = null;
      const send = res.send.bind(res);
      res.send = ((body?: unknown) => {
        if (typeof body === 'string') response = body;
        else if (Buffer.isBuffer(body)) response = res.get('content-type')?.startsWith('application/json') ? body.toString('utf8') : null;
        return send(body as never);
      }) as Response['send'];
      res.once('finish', () => {
        try {
          this.capture(req, res, response);
        } catch (err) {
          this.logger.warn('api log capture failed', { err: String(err) });
        }
      });
      next();
    };
  }

  private capture(req: Parameters<RequestHandler>[0], res: Response, response: string | null): void {
    const organizationId = res.locals.organizationId as string | undefined;
    if (typeof organizationId !== 'string') return;
    const raw = (req as unknown as { rawBody?: Buffer }).rawBody ?? null;
    const cap = this.o.maxBodyBytes;
    const requestBody = raw !== null && raw.length > cap ? JSON.stringify({ truncated: true, bytes: raw.length }) : raw;
    const resp = response !== null && response.length > cap ? JSON.stringify({ truncated: true, bytes: Buffer.byteLength(response) }) : response;
    const bytes = (requestBody?.length ?? 0) + (resp?.length ?? 0) + 512;
    if (this.buffer.length >= this.o.maxBuffered || this.bufferedBytes + bytes > this.o.maxBufferedBytes) {
      this.dropped += 1;
      return;
    }
    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    const host = req.get('host') ?? 'localhost';
    this.buffer.push({
      organizationId,
      requestId: String(res.locals.requestId ?? crypto.randomUUID()),
      apiKeyHash: auth ? crypto.createHash('sha256').update(auth[1]!, 'utf8').digest('hex') : null,
      client: (req.header('user-agent') ?? 'unknown').slice(0, 255),
      httpMethod: req.method.toLowerCase(),
      httpStatus: res.statusCode,
      requestOrigin: (req.header('origin') ?? `${req.protocol}://${host}`).slice(0, 255),
      requestPath: scrubSecrets((req.originalUrl ?? req.url).split('?')[0]!.replace(/^\/api\/v1(?=\/)/, '')).slice(0, 2048),
      requestBody,
      response: resp,
      loggedAt: new Date(),
      bytes,
    });
    this.bufferedBytes += bytes;
    if (this.buffer.length >= this.o.batchSize) this.schedule(0);
    else this.schedule(this.o.flushMs);
  }

  private schedule(ms: number): void {
    if (this.timer !== null && ms > 0) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  /** Writes everything buffered (one INSERT per batch); resolves when written or dropped. Never throws. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
    if (this.buffer.length > 0) this.schedule(this.o.flushMs);
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      for (let i = 0; i < batch.length; i += this.o.batchSize) {
        const rows: ApiLogRow[] = batch.slice(i, i + this.o.batchSize).map((p) => ({
          organizationId: p.organizationId,
          requestId: p.requestId,
          apiKeyHash: p.apiKeyHash,
          apiVersion: 'v1',
          client: p.client,
          httpMethod: p.httpMethod,
          httpStatus: p.httpStatus,
          requestOrigin: p.requestOrigin,
          requestPath: p.requestPath,
          requestBody: redactJson(p.requestBody === null ? null : p.requestBody.toString()) ?? '{}',
          requestResponse: redactJson(p.response),
          loggedAt: p.loggedAt,
        }));
        await insertApiLogs(this.db, rows);
        await recordApiActivities(this.db, activitiesOf(batch.slice(i, i + this.o.batchSize), rows));
      }
      const now = Date.now();
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        await pruneApiLogs(this.db, new Date(now - this.o.retentionDays * 86_400_000), 10_000);
      }
    } catch (err) {
      this.logger.warn('api logs not written (dropped)', { count: batch.length, err: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Stops the timer and writes what is buffered (graceful shutdown). */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
