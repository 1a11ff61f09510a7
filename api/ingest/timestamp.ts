// Event timestamps, as Lago accepts them: unix seconds (integer, or a string with an optional fraction)
// or an ISO-8601 instant with an explicit offset. Parsed WITHOUT floats: "1700000000.123456" is split on
// '.', and the fraction is truncated to milliseconds (JS Date precision; documented, deterministic).
import { parseIsoInstantMs, type IsoInstant } from '../schemas/common';

const UNIX = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const MAX_UNIX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

/** ISO UTC string, or null when the value is not a valid timestamp. */
export function parseEventTimestamp(value: unknown): string | null {
  return parseEventInstant(value)?.iso ?? null;
}

/** parseEventTimestamp with the instant's epoch milliseconds (the ingest path checks the window on them). */
export function parseEventInstant(value: unknown): IsoInstant | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    // A JSON number: its shortest round-trip text is what the client wrote (e.g. 1700000000.5).
    text = String(value);
    if (/e/i.test(text)) return null;
  } else if (typeof value === 'string') {
    // An ISO instant in the canonical UTC forms needs no trim and no unix-seconds test (parseIsoInstantMs's fast path).
    const c = value.charCodeAt(value.length - 1);
    if (c === 90 /* Z */ && value.charCodeAt(4) === 45 /* - */) return parseIsoInstantMs(value);
    text = value.trim();
  } else {
    return null;
  }
  const m = UNIX.exec(text);
  if (m) {
    const seconds = Number(m[1]);
    if (seconds > MAX_UNIX_SECONDS) return null;
    const millis = Number((m[2] ?? '').padEnd(3, '0').slice(0, 3));
    const ms = seconds * 1000 + millis;
    return { iso: new Date(ms).toISOString(), ms };
  }
  if (typeof value === 'number') return null;
  return parseIsoInstantMs(text);
}

let lastHourMs = Number.NaN;
let lastHourIso = '';

/** Hour floor of an ISO instant (ISO UTC): the usage signal's bucket. */
export function hourBucket(isoInstant: string): string {
  const ms = parseIsoInstantMs(isoInstant)?.ms ?? Date.parse(isoInstant);
  const hour = ms - (((ms % 3_600_000) + 3_600_000) % 3_600_000);
  // The events of a request mostly share their hour: its text is kept (one toISOString per hour, not per event).
  if (hour !== lastHourMs) {
    lastHourIso = new Date(hour).toISOString();
    lastHourMs = hour;
  }
  return lastHourIso;
}

/**
 * How far an event's own timestamp may lie from the instant the API received it. Outside the window the
 * event is rejected (422 `timestamp: too_far_in_future` / `too_old`) and recorded in event_errors: a clock
 * running days ahead would otherwise bill a future period, and a replay of months-old usage would land in
 * periods that were invoiced long ago. Older usage goes through POST /events/import (never billed).
 */
export interface EventTimeWindow {
  /** Max milliseconds a timestamp may be ahead of the receive time (0: no future at all). */
  maxFutureMs: number;
  /** Max milliseconds a timestamp may be behind the receive time; null: any age. */
  maxAgeMs: number | null;
}

/**
 * The API option (ApiDeps `ingest.timeWindow`), in the units operators configure. The composition root passes
 * METERLINE_EVENT_MAX_AGE_DAYS as maxAgeDays, defaulting it to DEFAULT_MAX_AGE_DAYS (90).
 */
export interface EventTimeWindowOptions {
  /** Default 24. */
  maxFutureHours?: number;
  /**
   * Omitted or null: no age limit (the library default, so an embedder — tests, bench — that passes no option
   * keeps accepting fixtures with fixed dates); a number: reject events older than that many days.
   */
  maxAgeDays?: number | null;
}

export const DEFAULT_MAX_FUTURE_HOURS = 24;
/** The production default of METERLINE_EVENT_MAX_AGE_DAYS: about one quarter, so a backfill of a whole late
 * billing period (plus its grace period) still lands, while months-old replays go through the import. */
export const DEFAULT_MAX_AGE_DAYS = 90;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The window of the live ingest path; throws at boot on a nonsensical option (negative, zero age, NaN). */
export function eventTimeWindow(options: EventTimeWindowOptions = {}): EventTimeWindow {
  const hours = options.maxFutureHours ?? DEFAULT_MAX_FUTURE_HOURS;
  const days = options.maxAgeDays ?? null;
  if (!Number.isFinite(hours) || hours < 0) throw new Error(`ingest.timeWindow.maxFutureHours must be >= 0 (got ${hours})`);
  if (days !== null && (!Number.isFinite(days) || days <= 0)) throw new Error(`ingest.timeWindow.maxAgeDays must be > 0 or null (got ${days})`);
  return { maxFutureMs: hours * HOUR_MS, maxAgeMs: days === null ? null : days * DAY_MS };
}

/** Imports: any age, but never after the receive time. */
export const IMPORT_TIME_WINDOW: EventTimeWindow = { maxFutureMs: 0, maxAgeMs: null };

export type TimeWindowError = 'too_far_in_future' | 'too_old';

/** Where an ISO timestamp falls against the window around `receivedAtMs` (bounds inclusive). */
export function checkTimeWindow(isoInstant: string, receivedAtMs: number, window: EventTimeWindow): TimeWindowError | null {
  return checkTimeWindowMs(Date.parse(isoInstant), receivedAtMs, window);
}

/** checkTimeWindow of an instant given in epoch milliseconds. */
export function checkTimeWindowMs(ms: number, receivedAtMs: number, window: EventTimeWindow): TimeWindowError | null {
  if (ms > receivedAtMs + window.maxFutureMs) return 'too_far_in_future';
  if (window.maxAgeMs !== null && ms < receivedAtMs - window.maxAgeMs) return 'too_old';
  return null;
}
