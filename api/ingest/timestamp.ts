// Event timestamps, as Lago accepts them: unix seconds (integer, or a string with an optional fraction)
// or an ISO-8601 instant with an explicit offset. Parsed WITHOUT floats: "1700000000.123456" is split on
// '.', and the fraction is truncated to milliseconds (JS Date precision; documented, deterministic).
import { parseIsoInstant } from '../schemas/common';

const UNIX = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const MAX_UNIX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

/** ISO UTC string, or null when the value is not a valid timestamp. */
export function parseEventTimestamp(value: unknown): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    // A JSON number: its shortest round-trip text is what the client wrote (e.g. 1700000000.5).
    text = String(value);
    if (/e/i.test(text)) return null;
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const m = UNIX.exec(text);
  if (m) {
    const seconds = Number(m[1]);
    if (seconds > MAX_UNIX_SECONDS) return null;
    const millis = Number((m[2] ?? '').padEnd(3, '0').slice(0, 3));
    return new Date(seconds * 1000 + millis).toISOString();
  }
  if (typeof value === 'number') return null;
  return parseIsoInstant(text);
}

/** Hour floor of an ISO instant (ISO UTC): the usage signal's bucket. */
export function hourBucket(isoInstant: string): string {
  const ms = Date.parse(isoInstant);
  return new Date(ms - (((ms % 3_600_000) + 3_600_000) % 3_600_000)).toISOString();
}
