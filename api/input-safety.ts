// Text Postgres cannot store and JSON too deep to handle, refused at the door (issue 8):
// - a NUL character (U+0000): Postgres text and jsonb cannot hold it (the insert failed: a 500);
// - a lone UTF-16 surrogate ("\ud800" in JSON): not Unicode text; jsonb refuses its escape, and pg would
//   silently turn it into U+FFFD in text columns;
// - JSON nested deeper than MAX_JSON_DEPTH (64) levels: nothing Meterline accepts is deeper than ~6, and deep
//   trees make every recursive consumer (validation, hashing, jsonb) a stack risk.
// Codes: `invalid_characters` (422, per field), `json_too_deep` (400).
import type { RequestHandler } from 'express';
import { ApiError } from './errors';

export const MAX_JSON_DEPTH = 64;
export const INVALID_CHARACTERS = 'invalid_characters';
export const JSON_TOO_DEEP = 'json_too_deep';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_GLOBAL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** True when the string holds a NUL or a lone surrogate. */
export function isUnsafeText(s: string): boolean {
  return s.includes('\u0000') || LONE_SURROGATE.test(s);
}

/**
 * Paths (Lago field notation, `a.b[0]`) of every unsafe string in a JSON value: a bad value is reported at its own
 * path, a bad object key at the object's path. `path` is the value's own path ('' for the root).
 */
export function unsafeTextPaths(value: unknown, path: string, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (isUnsafeText(value)) out.push(path === '' ? 'base' : path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unsafeTextPaths(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (isUnsafeText(k)) out.push(path === '' ? 'base' : path);
      else unsafeTextPaths(v, path === '' ? k : `${path}.${k}`, out);
    }
  }
  return out;
}

/** The text with NUL and lone surrogates replaced by U+FFFD (for what is recorded about a refused input). */
export function sanitizeText(s: string): string {
  return s.replace(UNSAFE_GLOBAL, '\uFFFD');
}

/** A JSON value with every string and key sanitized (sanitizeText). */
export function sanitizeJson(value: unknown): unknown {
  if (typeof value === 'string') return sanitizeText(value);
  if (Array.isArray(value)) return value.map(sanitizeJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [sanitizeText(k), sanitizeJson(v)]));
  }
  return value;
}

/** True when the JSON text nests objects/arrays deeper than `max` (one pass over the bytes, strings skipped). */
export function jsonDepthExceeds(buf: Buffer, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The error a body-parser `verify` hook throws for a too deep body (errors.ts maps its type to 400). */
export function jsonTooDeepError(): Error {
  return Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { type: 'entity.too.deep' });
}

// Bodies whose events are checked one by one (validate-event.ts records each refused event): only their
// envelope is checked here.
const EVENT_ENVELOPES: Record<string, string> = {
  '/api/v1/events': 'event',
  '/api/v1/events/batch': 'events',
  '/api/v1/events/import': 'events',
};

function decodedPath(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Refuses unsafe text in the path, the query and the body (422 invalid_characters naming where). */
export const unsafeTextGuard: RequestHandler = (req, _res, next) => {
  const details: Record<string, string[]> = {};
  const add = (field: string) => {
    const list = (details[field] ??= []);
    if (!list.includes(INVALID_CHARACTERS)) list.push(INVALID_CHARACTERS);
  };
  const path = decodedPath(req.path);
  if (path === null) throw new ApiError(400, 'bad_request', 'Malformed percent-encoding in the path');
  if (isUnsafeText(path)) add('path');
  // req.query parses the query string on every read (Express 5): only when there is one (issue 7: the ingest posts have none).
  if (req.url.includes('?')) for (const p of unsafeTextPaths(req.query, '')) add(p);
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object') {
    const envelope = req.method === 'POST' ? EVENT_ENVELOPES[req.path.replace(/\/+$/, '')] : undefined;
    const checked = envelope && !Array.isArray(body) ? Object.fromEntries(Object.entries(body).filter(([k]) => k !== envelope)) : body;
    for (const p of unsafeTextPaths(checked, '')) add(p);
  }
  if (Object.keys(details).length > 0) throw new ApiError(422, 'validation_errors', 'Validation errors', details);
  next();
};
