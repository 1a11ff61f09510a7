// One error middleware: every failure becomes Lago's error shape `{status, error, code, error_details}`.
// Routes never try/catch; they throw ApiError (or a billing/zod error) and this file maps it to HTTP.
import crypto from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { httpStatusOf } from '../billing/error-codes';
import { BillingError, PlanValidationError } from '../billing/errors';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from './db-unavailable';
import { zodIssuesToDetails } from './schemas/common';

export type ErrorDetails = Record<string, unknown>;

export interface Logger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (msg, meta) => console.log(JSON.stringify({ level: 'info', msg, ...meta })),
  warn: (msg, meta) => console.warn(JSON.stringify({ level: 'warn', msg, ...meta })),
  error: (msg, meta) => console.error(JSON.stringify({ level: 'error', msg, ...meta })),
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error with a known HTTP answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message?: string,
    readonly errorDetails?: ErrorDetails,
  ) {
    super(message ?? code ?? REASONS[status] ?? 'Error');
    this.name = 'ApiError';
  }

  body(): Record<string, unknown> {
    const body: Record<string, unknown> = { status: this.status, error: REASONS[this.status] ?? 'Error' };
    if (this.code !== undefined) body.code = this.code;
    if (this.errorDetails !== undefined) body.error_details = this.errorDetails;
    return body;
  }
}

/** 422 `validation_errors` with `error_details: {field: [codes]}` (Lago's shape). */
export function validationError(details: ErrorDetails): ApiError {
  return new ApiError(422, 'validation_errors', 'Validation errors', details);
}

/** 404 with `code: "<resource>_not_found"`. */
export function notFound(resource: string): ApiError {
  return new ApiError(404, `${resource}_not_found`);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'Unauthorized'); // Lago's code
}

/** Add one `field: code` pair to a details map. */
export function addDetail(details: Record<string, string[]>, field: string, code: string): void {
  (details[field] ??= []).includes(code) || details[field].push(code);
}

export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.header('x-request-id');
  const id = incoming && /^[\w.-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
  res.locals.requestId = id;
  res.setHeader('X-Request-Id', id);
  next();
};

/** Unknown routes: Lago answers 404 with a code. */
export const notFoundRoute: RequestHandler = (_req, _res, next) => next(new ApiError(404, 'not_found'));

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err);
    if (!apiError && isDatabaseUnavailable(err)) {
      // Postgres unreachable: nothing was acknowledged; tell the client when to retry (issue 8).
      logger.warn('database unavailable', { requestId: res.locals.requestId, method: req.method, path: req.originalUrl, error: String(err) });
      if (res.headersSent) return;
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      res.status(503).json({ status: 503, error: 'Service Unavailable', code: 'service_unavailable', request_id: res.locals.requestId });
      return;
    }
    if (!apiError) {
      logger.error('unhandled error', {
        requestId: res.locals.requestId,
        method: req.method,
        path: req.originalUrl,
        error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack, cause: String(err.cause ?? '') } : String(err),
      });
      if (res.headersSent) return;
      res.status(500).json({ status: 500, error: 'Internal Server Error', code: 'internal_error', request_id: res.locals.requestId });
      return;
    }
    if (res.headersSent) return;
    res.status(apiError.status).json(apiError.body());
  };
}

function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof ZodError) return validationError(zodIssuesToDetails(err.issues));
  if (err instanceof PlanValidationError) {
    const details: Record<string, string[]> = {};
    for (const issue of err.issues) addDetail(details, issue.field, issue.code);
    return validationError(details);
  }
  if (err instanceof BillingError) {
    // The code's class decides the status, once (billing/error-codes.ts): not found 404, conflict 409, invalid 422.
    const status = httpStatusOf(err.code);
    if (status !== 422) return new ApiError(status, err.code, err.message);
    const details: Record<string, string[]> = {};
    addDetail(details, err.field ?? 'base', err.code);
    return validationError(details);
  }
  // body-parser errors carry `type` and `status`.
  const e = err as { type?: string; status?: number } | null;
  if (e && typeof e === 'object') {
    if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'Malformed JSON body');
    if (e.type === 'entity.too.large') return new ApiError(413, 'payload_too_large');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new ApiError(400, 'bad_request');
    if (e.type === 'entity.too.deep') return new ApiError(400, 'json_too_deep', 'JSON nested too deep');
    // A body that does not decompress (corrupt gzip / deflate): zlib's Z_* error, wrapped in a 400 by body-parser.
    const zcode = (err as { code?: unknown }).code;
    if (e.status === 400 && typeof zcode === 'string' && zcode.startsWith('Z_')) return new ApiError(400, 'invalid_body_encoding', 'Body does not decompress');
  }
  return undefined;
}
