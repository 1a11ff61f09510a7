// Shared zod pieces: the Lago error-code mapping, pagination, money and ISO helpers.
import { z } from 'zod';
import type { $ZodIssue } from 'zod/v4/core';

/** Issue → Lago-style machine-readable code (the message of every issue IS its code). */
export function lagoErrorMap(iss: { code?: string; input?: unknown; message?: string }): string | undefined {
  if (iss.input === undefined && iss.code === 'invalid_type') return 'value_is_mandatory';
  switch (iss.code) {
    case 'invalid_type':
      return 'invalid_type';
    case 'invalid_value':
      return 'value_is_invalid';
    case 'too_big':
    case 'too_small':
      return 'value_is_out_of_range';
    case 'invalid_format':
      return 'invalid_format';
    case 'custom':
      return iss.message && /^[a-z_]+$/.test(iss.message) ? iss.message : 'invalid_value';
    default:
      return 'invalid_value';
  }
}

/** `['plan', 'charges', 0, 'properties']` → `charges[0].properties` (the envelope key is dropped). */
export function issuePathToField(path: readonly PropertyKey[], dropEnvelope = true): string {
  const parts = dropEnvelope && path.length > 1 ? path.slice(1) : path;
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? 'base' : out;
}

export function zodIssuesToDetails(issues: readonly $ZodIssue[], dropEnvelope = true): Record<string, string[]> {
  const details: Record<string, string[]> = {};
  for (const issue of issues) {
    const field = issuePathToField(issue.path, dropEnvelope);
    const code = /^[a-z_]+$/.test(issue.message) ? issue.message : 'invalid_value';
    const list = (details[field] ??= []);
    if (!list.includes(code)) list.push(code);
  }
  return details;
}

/** Parse with Lago codes; throws the ZodError the error middleware turns into a 422. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return schema.parse(body ?? {}, { error: lagoErrorMap }) as z.output<T>;
}

export const safeCents = z.number().int().refine((n) => Number.isSafeInteger(n) && n >= 0, 'value_is_out_of_range');
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'value_is_invalid');
export const nullableString = z.string().nullable().optional();

export const paginationQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});

export function paginationMeta(page: number, perPage: number, totalCount: number) {
  const totalPages = Math.max(1, Math.ceil(totalCount / perPage));
  return {
    current_page: page,
    next_page: page < totalPages ? page + 1 : null,
    prev_page: page > 1 ? page - 1 : null,
    total_pages: totalPages,
    total_count: totalCount,
  };
}

export function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * True when the date and time fields name a real instant: Date.parse rolls `2026-02-30` over to March 2 and
 * accepts 24:00, so the fields are checked first (month 1-12, day within the month of that year, leap years
 * included, hour 0-23, minute and second 0-59; offsets within ±23:59).
 */
export function isRealCalendarDateTime(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  if (month! < 1 || month! > 12 || day! < 1 || hour! > 23 || minute! > 59 || second! > 59) return false;
  const leap = (year! % 4 === 0 && year! % 100 !== 0) || year! % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1]!;
  if (day! > days) return false;
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(value);
  return !offset || (Number(offset[2]) <= 23 && Number(offset[3]) <= 59);
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Strict ISO-8601 instant with an explicit offset → ISO UTC string, or null when malformed. */
export function parseIsoInstant(value: string): string | null {
  if (!ISO_DATETIME.test(value) || !isRealCalendarDateTime(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

export const isoDateTime = z.string().refine((v) => parseIsoInstant(v) !== null, 'invalid_format');

/** Date/bigint-safe ISO output for DB timestamps. */
export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
