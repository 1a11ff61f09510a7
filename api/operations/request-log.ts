// One JSON line per HTTP request (pino-http): request id (the X-Request-Id the client sent, when well-formed, or the
// one api/errors.ts requestId generated: the same id the response's X-Request-Id header and a 500's body carry),
// method, path, status and duration. No headers and no bodies are logged (so no Authorization, API key or
// payload), and the path is scrubbed (config/logger.ts). 5xx answers log at `error`, the rest at `info`;
// /health and /metrics (polled by probes and scrapers) are not logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type pino from 'pino';
import { pinoHttp } from 'pino-http';
import { scrubSecrets } from '../../config/logger';

const QUIET = new Set(['/health', '/metrics']);

type ExpressReq = IncomingMessage & { originalUrl?: string; id?: unknown };

export function httpRequestLogger(log: pino.Logger): RequestHandler {
  const middleware = pinoHttp({
    logger: log,
    genReqId: (_req, res) => String((res as ServerResponse & { locals?: Record<string, unknown> }).locals?.requestId ?? ''),
    autoLogging: { ignore: (req) => QUIET.has(((req as ExpressReq).originalUrl ?? req.url ?? '').split('?')[0]!) },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${scrubSecrets(((req as ExpressReq).originalUrl ?? req.url ?? '').split('?')[0]!)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${scrubSecrets(((req as ExpressReq).originalUrl ?? req.url ?? '').split('?')[0]!)} ${res.statusCode}`,
    customAttributeKeys: { responseTime: 'duration_ms' },
    customProps: (_req, res) => ({ request_id: (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.requestId }),
    serializers: {
      req: (req: { id?: unknown; method?: string; url?: string; raw?: ExpressReq }) => ({
        method: req.method,
        path: scrubSecrets((req.raw?.originalUrl ?? req.url ?? '').split('?')[0]!),
      }),
      res: (res: { statusCode?: number | null; raw?: ServerResponse }) => ({ status: res.raw?.statusCode ?? res.statusCode }),
    },
  });
  return middleware as unknown as RequestHandler;
}
