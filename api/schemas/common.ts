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
  return parseIsoInstantMs(value)?.iso ?? null;
}

/** An instant as its canonical ISO UTC text and epoch milliseconds. */
export interface IsoInstant {
  iso: string;
  ms: number;
}

/**
 * parseIsoInstant with the epoch milliseconds. The forms `YYYY-MM-DDTHH:MM:SS.sssZ` (what toISOString writes,
 * so the answer is the input itself) and `YYYY-MM-DDTHH:MM:SSZ` are read field by field without a regex, a
 * Date.parse or a toISOString (ingest: ~10x cheaper; test/api/iso-instant-fast-path.test.ts checks it gives
 * what the general path gives); every other form takes the general path.
 */
export function parseIsoInstantMs(value: string): IsoInstant | null {
  const fast = utcCanonicalMs(value);
  if (fast !== undefined) {
    if (fast === null) return null;
    return { iso: value.length === 24 ? value : `${value.slice(0, 19)}.000Z`, ms: fast };
  }
  if (!ISO_DATETIME.test(value) || !isRealCalendarDateTime(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : { iso: new Date(ms).toISOString(), ms };
}

/** Two ASCII digits at i as a number, or -1. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` / `YYYY-MM-DDTHH:MM:SSZ` (uppercase T and Z): epoch ms when the fields name a real
 * instant, null when they do not (the general path refuses those too), undefined when the text has another form.
 */
function utcCanonicalMs(s: string): number | null | undefined {
  const n = s.length;
  if (n !== 24 && n !== 20) return undefined;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(n - 1) !== 90) return undefined;
  let millis = 0;
  if (n === 24) {
    if (s.charCodeAt(19) !== 46) return undefined;
    const m1 = digits2(s, 20);
    const m2 = s.charCodeAt(22) - 48;
    if (m1 < 0 || m2 < 0 || m2 > 9) return undefined;
    millis = m1 * 10 + m2;
  }
  const y1 = digits2(s, 0);
  const y2 = digits2(s, 2);
  const month = digits2(s, 5);
  const day = digits2(s, 8);
  const hour = digits2(s, 11);
  const minute = digits2(s, 14);
  const second = digits2(s, 17);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  const year = y1 * 100 + y2;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!)) return null;
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
}

export const isoDateTime = z.string().refine((v) => parseIsoInstant(v) !== null, 'invalid_format');

let lastIsoMs = Number.NaN;
let lastIsoText = '';

/** Date/bigint-safe ISO output for DB timestamps. The last Date's text is kept (the rows of one ingest
 * statement share their created_at: one toISOString per statement, not per event). */
export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (ms === lastIsoMs) return lastIsoText;
    const text = value.toISOString(); // throws on an invalid Date, as before
    lastIsoMs = ms;
    lastIsoText = text;
    return text;
  }
  return new Date(value).toISOString();
}
