// Is this failure "the database cannot be reached right now"? Then the API answers 503 with Retry-After (a client
// that does not retry a 500 would drop its batch; a 503 says: nothing was written, try again).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);
// SQLSTATE: class 08 connection exceptions; 57P01-57P03 shutdown / cannot connect now; 53300 too many connections.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const MESSAGES = /Connection terminated|Timeout acquiring a connection|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

export const RETRY_AFTER_SECONDS = 5;

/** True for connection-level failures of Postgres (also when wrapped as a `cause` or in an AggregateError). */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
