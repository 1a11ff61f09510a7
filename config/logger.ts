// Structured JSON logs (pino), one root logger per process (API, worker), never a key or a secret in them:
// - level from METERLINE_LOG_LEVEL (fatal|error|warn|info|debug|trace|silent), default `info`; the test runs set
//   `silent` (test/support/quiet-logs.ts);
// - `redact` removes known secret-bearing fields wherever they sit one or two levels deep (Authorization and
//   cookie headers, API keys, Stripe keys, webhook secrets and HMAC keys, private keys, portal tokens, passwords);
// - and every string logged (message and fields, nested) is scrubbed of anything shaped like a secret: Meterline
//   API keys (`ml_…`), Stripe keys (`sk_/rk_live|test_…`, `whsec_…`), Bearer credentials, portal link tokens and PEM
//   private keys. So a key inside an error message from a library is not logged either.
import pino from 'pino';
import type { Logger } from '../api/errors';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** METERLINE_LOG_LEVEL, default `info`; an unknown level fails at boot with the list of valid ones. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const v = (env.METERLINE_LOG_LEVEL ?? 'info').trim().toLowerCase();
  if (!(LEVELS as readonly string[]).includes(v)) throw new Error(`METERLINE_LOG_LEVEL=${v}: expected one of ${LEVELS.join(', ')}`);
  return v as LogLevel;
}

const SECRET_FIELDS = [
  'authorization', 'cookie', 'set-cookie', 'x-api-key', 'api_key', 'apiKey', 'key', 'value', 'token', 'portal_token', 'password',
  'secret', 'secretKey', 'secret_key', 'webhookSecret', 'webhook_secret', 'hmac_key', 'hmacKey', 'privateKey', 'private_key',
  'stripeSecretKey', 'stripe_secret_key',
];

/** pino redact paths: each secret field at the top, one and two levels down (headers included). */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.map((f) => `["${f}"]`),
  ...SECRET_FIELDS.map((f) => `*["${f}"]`),
  ...SECRET_FIELDS.map((f) => `*.*["${f}"]`),
];

const SECRET_PATTERNS: [RegExp, string][] = [
  [/\bml_[A-Za-z0-9_-]{8,}/g, 'ml_[REDACTED]'],
  [/\b(sk|rk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_[REDACTED]'],
  [/\bwhsec_[A-Za-z0-9_-]+/g, 'whsec_[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [REDACTED]'],
  [/\bv1\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, 'v1.[REDACTED]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

function scrubValue(v: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof v === 'string') return scrubSecrets(v);
  if (v === null || typeof v !== 'object' || depth > 6) return v;
  if (seen.has(v)) return '[Circular]';
  seen.add(v);
  if (v instanceof Error) {
    return { type: v.name, message: scrubSecrets(v.message), stack: v.stack ? scrubSecrets(v.stack) : undefined, ...(scrubValue({ ...v }, depth + 1, seen) as object) };
  }
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, depth + 1, seen));
  if (Buffer.isBuffer(v)) return `[Buffer ${v.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubValue(x, depth + 1, seen);
  return out;
}

export interface RootLoggerOptions {
  /** `service` field of every line: meterline-api, meterline-worker. */
  name: string;
  level?: LogLevel;
  /** Where lines go (default stdout); tests pass a stream they read. */
  destination?: pino.DestinationStream;
}

export function createRootLogger(options: RootLoggerOptions): pino.Logger {
  return pino(
    {
      level: options.level ?? logLevelFromEnv(),
      base: { service: options.name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => scrubValue(obj, 0, new Set()) as Record<string, unknown>,
      },
      hooks: {
        // The message (and any interpolation arguments) are scrubbed too.
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}

/** The API's Logger interface (msg + fields) on a pino logger. */
export function appLogger(log: pino.Logger): Logger {
  return {
    info: (msg, meta) => log.info(meta ?? {}, msg),
    warn: (msg, meta) => log.warn(meta ?? {}, msg),
    error: (msg, meta) => log.error(meta ?? {}, msg),
  };
}
