// `Idempotency-Key` on POSTs. The first request with a key claims the row (PK organization_id, key); its
// response (status + body) is stored before it is sent. A replay with the same body gets that response;
// the same key with a different body (or method/path) is a 409 `idempotency_key_reused`. A duplicate that
// arrives while the first is still running waits for it (bounded), then replays. 5xx answers are not
// stored: the key is released so the client can retry.
import { claimIdempotencyKey, getIdempotencyKey, releaseIdempotencyKey, storeIdempotentResponse } from '../db/repositories/idempotency-keys';
import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { orgId } from './auth';
import { ApiError, consoleLogger, type Logger } from './errors';

export interface IdempotencyOptions {
  waitForInFlightMs?: number;
  logger?: Logger;
}

const MAX_KEY_LENGTH = 255;

export function requestHash(req: Request): string {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  const h = crypto.createHash('sha256');
  h.update(`${req.method}\n${req.baseUrl}${req.path}\n`);
  h.update(raw ?? Buffer.from(JSON.stringify(req.body ?? null)));
  return h.digest('hex');
}

export function idempotency(db: Knex, options: IdempotencyOptions = {}): RequestHandler {
  const waitMs = options.waitForInFlightMs ?? 10_000;
  const logger = options.logger ?? consoleLogger;
  return async (req, res, next) => {
    const key = req.header('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return next();
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw new ApiError(400, 'invalid_idempotency_key');
    const organizationId = orgId(res);
    const hash = requestHash(req);
    const path = `${req.baseUrl}${req.path}`;

    const claimed = await claimIdempotencyKey(db, organizationId, key, { method: req.method, path, requestHash: hash });

    if (!claimed) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const row = await getIdempotencyKey(db, organizationId, key);
        if (!row) throw new ApiError(409, 'idempotency_key_in_progress'); // released by a failed first attempt
        if (row.requestHash !== hash) throw new ApiError(409, 'idempotency_key_reused');
        if (row.statusCode !== null) {
          res.setHeader('Idempotent-Replayed', 'true');
          res.status(row.statusCode).json(row.responseBody);
          return;
        }
        if (Date.now() > deadline) throw new ApiError(409, 'idempotency_key_in_progress');
        await new Promise((r) => setTimeout(r, 25));
      }
    }

    // We own the key: store the response before sending it.
    captureResponse(res, async (status, body) => {
      if (status >= 500) await releaseIdempotencyKey(db, organizationId, key);
      else await storeIdempotentResponse(db, organizationId, key, status, body);
    }, logger);
    next();
  };
}

function captureResponse(res: Response, store: (status: number, body: unknown) => Promise<void>, logger: Logger): void {
  const originalJson = res.json.bind(res);
  let stored = false;
  res.json = ((body: unknown) => {
    if (stored) return originalJson(body);
    stored = true;
    store(res.statusCode, body)
      .catch((err) => logger.error('failed to store idempotent response', { error: String(err) }))
      .finally(() => originalJson(body));
    return res;
  }) as Response['json'];
}
