// One JSON line per HTTP request: request id (the X-Request-Id the client sent, when well-formed, or the one
// api/errors.ts requestId generated: the same id the response's X-Request-Id header and a 500's body carry),
// method, path, status and duration. No headers and no bodies are logged (so no Authorization, API key or
// payload), and the path is scrubbed (config/logger.ts). 5xx answers (and a response stream error) log at `error`,
// the rest at `info`; /health and /metrics (polled by probes and scrapers) are not logged.
//
// The ingest exception (issue 7): a SUCCESSFUL (< 400) POST /api/v1/events or /api/v1/events/batch logs at `debug`,
// so at the default `info` level the hot path writes no line; its rejections (4xx) still log at `info` and its
// failures (5xx) at `error`. Accepted events are counted by the Prometheus metrics (meterline_ingest_events_total,
// meterline_http_request_duration_seconds) instead. METERLINE_LOG_LEVEL=debug brings the lines back.
//
// Cheap by construction (the measured cost of the previous pino-http middleware was 10-13 % of the API process' CPU
// under bench:ingest): the logger is handed only a small object of strings and numbers, never the raw
// IncomingMessage / ServerResponse (config/logger.ts's scrubbing formatter walks whatever it is given, six levels
// deep, before serializers run), no child logger is created per request, and a level that is not enabled costs
// one comparison.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type pino from 'pino';
import { scrubSecrets } from '../../config/logger';

const QUIET = new Set(['/health', '/metrics']);
/** Paths whose successful POSTs log at debug (the event ingest path). */
const INGEST_PATHS = new Set(['/api/v1/events', '/api/v1/events/batch']);

type ExpressReq = IncomingMessage & { originalUrl?: string };

/** The level of one request's line: error for 5xx or a stream error, debug for accepted ingest posts, else info. */
export function requestLogLevel(method: string | undefined, path: string, status: number, failed: boolean): 'error' | 'info' | 'debug' {
  if (failed || status >= 500) return 'error';
  if (status < 400 && method === 'POST' && INGEST_PATHS.has(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)) return 'debug';
  return 'info';
}

export function httpRequestLogger(log: pino.Logger): RequestHandler {
  return (req, res, next) => {
    const rawPath = ((req as ExpressReq).originalUrl ?? req.url ?? '').split('?')[0]!;
    if (QUIET.has(rawPath)) {
      next();
      return;
    }
    const startedAt = Date.now();
    let logged = false;
    const onComplete = (err?: unknown) => {
      if (logged) return;
      logged = true;
      res.removeListener('finish', onComplete);
      res.removeListener('close', onComplete);
      res.removeListener('error', onComplete);
      const status = res.statusCode;
      const failed = err instanceof Error;
      const level = requestLogLevel(req.method, rawPath, status, failed);
      if (!log.isLevelEnabled(level)) return;
      const path = scrubSecrets(rawPath);
      const line: Record<string, unknown> = {
        request_id: (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.requestId,
        req: { method: req.method, path },
        res: { status },
        duration_ms: Date.now() - startedAt,
      };
      if (level === 'error') line.err = failed ? err : { type: 'Error', message: `failed with status code ${status}` };
      log[level](line, `${req.method} ${path} ${status}`);
    };
    res.on('finish', onComplete);
    res.on('close', onComplete);
    res.on('error', onComplete);
    next();
  };
}
