// The ingest path's timestamp shortcuts give exactly what the general path gives: parseIsoInstantMs's
// field-by-field reading of `YYYY-MM-DDTHH:MM:SS(.sss)Z`, parseEventInstant, the hour-bucket text cache and
// iso()'s last-Date cache. The reference below is the general path as it was before the shortcuts
// (ISO_DATETIME + isRealCalendarDateTime + Date.parse + toISOString), kept here only to compare against.
import { isRealCalendarDateTime, iso, parseIsoInstant, parseIsoInstantMs } from '../../api/schemas/common';
import { checkTimeWindow, checkTimeWindowMs, eventTimeWindow, hourBucket, parseEventInstant, parseEventTimestamp } from '../../api/ingest/timestamp';

const REFERENCE_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

function referenceIsoInstant(value: string): string | null {
  if (!REFERENCE_ISO.test(value) || !isRealCalendarDateTime(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function referenceHourBucket(isoInstant: string): string {
  const ms = Date.parse(isoInstant);
  return new Date(ms - (((ms % 3_600_000) + 3_600_000) % 3_600_000)).toISOString();
}

/** Deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Field values around and beyond every limit (month 0/13, day 0/29/30/31/32, hour 24, minute/second 60). */
function candidate(r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const year = pick([0, 1, 99, 100, 400, 1582, 1899, 1900, 1969, 1970, 1999, 2000, 2024, 2025, 2026, 2100, 2400, 9999, Math.floor(r() * 10000)]);
  const month = pick([0, 1, 2, 3, 4, 6, 9, 11, 12, 13, 1 + Math.floor(r() * 12)]);
  const day = pick([0, 1, 28, 29, 30, 31, 32, 1 + Math.floor(r() * 31)]);
  const hour = pick([0, 12, 23, 24, Math.floor(r() * 24)]);
  const minute = pick([0, 59, 60, Math.floor(r() * 60)]);
  const second = pick([0, 59, 60, Math.floor(r() * 60)]);
  const millis = pick(['', `.${pad(Math.floor(r() * 1000), 3)}`, `.${Math.floor(r() * 10)}`, `.${pad(Math.floor(r() * 1e6), 6)}`]);
  const zone = pick(['Z', 'Z', 'Z', 'z', '+00:00', '-05:30', '+0530', '+24:00', '+23:59']);
  const sep = pick(['T', 'T', 'T', 't', ' ']);
  let s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${sep}${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${millis}${zone}`;
  if (r() < 0.15) {
    // One character replaced (a letter, a digit, a separator, a non-ASCII digit) or dropped.
    const i = Math.floor(r() * s.length);
    const c = pick(['x', '5', '-', ':', '.', ' ', '٣', '']);
    s = s.slice(0, i) + c + s.slice(i + 1);
  }
  return s;
}

describe('ingest timestamp shortcuts', () => {
  test('parseIsoInstant(Ms) equals the general path on 60,000 generated texts and 20,000 random instants', () => {
    const r = rng(7);
    const texts: string[] = [];
    for (let i = 0; i < 60_000; i++) texts.push(candidate(r));
    const yearMin = Date.UTC(0, 0, 1) - 1900 * 365.2425 * 86_400_000; // about 0000-01-01
    for (let i = 0; i < 10_000; i++) {
      const text = new Date(Math.max(yearMin, Math.floor(-62_000_000_000_000 + r() * (253_402_300_799_999 + 62_000_000_000_000)))).toISOString();
      texts.push(text, text.replace(/\.\d{3}Z$/, 'Z'));
    }
    const mismatches: unknown[] = [];
    let shortcutForms = 0;
    for (const s of texts) {
      const expected = referenceIsoInstant(s);
      const got = parseIsoInstantMs(s);
      if ((got?.iso ?? null) !== expected || (got && got.ms !== Date.parse(expected!)) || parseIsoInstant(s) !== expected) mismatches.push({ s, expected, got });
      if (expected && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(s)) shortcutForms++;
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(shortcutForms).toBeGreaterThan(20_000); // the shortcut's own forms were exercised, not only the fallback
  });

  test('every millisecond form of now and of the year edges reads back as itself', () => {
    for (const ms of [0, -1, 1, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 1, 28), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(0, 0, 1) - 1900 * 0, Date.now()]) {
      const text = new Date(ms).toISOString();
      if (!/^\d{4}-/.test(text)) continue;
      expect(parseIsoInstantMs(text)).toEqual({ iso: text, ms });
      expect(parseIsoInstantMs(text.replace(/\.\d{3}Z$/, 'Z'))).toEqual({ iso: text.replace(/\.\d{3}Z$/, '.000Z'), ms: ms - (((ms % 1000) + 1000) % 1000) });
    }
    expect(parseIsoInstantMs('0000-01-01T00:00:00.000Z')).toEqual({ iso: '0000-01-01T00:00:00.000Z', ms: Date.parse('0000-01-01T00:00:00.000Z') });
  });

  test('parseEventInstant equals parseEventTimestamp and the general path, unix seconds and padded text included', () => {
    const r = rng(11);
    const inputs: unknown[] = [1_700_000_000, 1_700_000_000.5, '1700000000.123456', ' 1700000000 ', -1, 1e21, '', ' 2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z ', null, {}];
    for (let i = 0; i < 20_000; i++) inputs.push(candidate(r));
    const mismatches: unknown[] = [];
    for (const v of inputs) {
      const got = parseEventInstant(v);
      const ref = typeof v === 'string' && !/^\s*\d{1,12}(\.\d{1,9})?\s*$/.test(v) ? referenceIsoInstant(v.trim()) : parseEventTimestamp(v);
      if ((got?.iso ?? null) !== parseEventTimestamp(v) || (got?.iso ?? null) !== ref || (got && got.ms !== Date.parse(got.iso))) mismatches.push({ v, got, ref });
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('checkTimeWindowMs decides as checkTimeWindow', () => {
    const w = eventTimeWindow({ maxFutureHours: 1, maxAgeDays: 2 });
    const now = Date.parse('2026-06-15T12:00:00.000Z');
    for (const delta of [-2 * 86_400_000 - 1, -2 * 86_400_000, 0, 3_600_000, 3_600_001]) {
      const text = new Date(now + delta).toISOString();
      expect(checkTimeWindowMs(now + delta, now, w)).toBe(checkTimeWindow(text, now, w));
    }
  });

  test('hourBucket (with its kept text) equals the general hour floor, hours alternating', () => {
    const r = rng(3);
    const base = Date.parse('2026-03-01T00:00:00.000Z');
    const mismatches: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ms = base + Math.floor(r() * 5) * 3_600_000 + Math.floor(r() * 3_600_000) - (r() < 0.1 ? 86_400_000 * 400 * 365 : 0);
      const text = r() < 0.2 ? new Date(ms).toISOString().replace('Z', '+00:00') : new Date(ms).toISOString();
      if (hourBucket(text) !== referenceHourBucket(text)) mismatches.push(text);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('iso() of Dates alternating between two instants and an invalid Date', () => {
    const a = new Date('2026-01-01T00:00:00.000Z');
    const b = new Date('2027-05-05T05:05:05.555Z');
    for (let i = 0; i < 10; i++) {
      expect(iso(a)).toBe(a.toISOString());
      expect(iso(b)).toBe(b.toISOString());
      expect(iso(new Date(b.getTime()))).toBe(b.toISOString());
    }
    expect(() => iso(new Date(Number.NaN))).toThrow(RangeError);
    expect(iso('2026-01-01T01:00:00+01:00')).toBe('2026-01-01T00:00:00.000Z');
    expect(iso(null)).toBeNull();
  });
});
