// Parsers for the ECB's euro foreign exchange reference rates, in the formats the ECB publishes:
// - eurofxref-daily.xml and eurofxref-hist-90d.xml (and eurofxref-hist.xml): a gesmes:Envelope whose
//   Cube holds one <Cube time='YYYY-MM-DD'> per publication day, each with <Cube currency='USD' rate='1.0562'/>;
// - eurofxref-hist.csv (inside the ECB's eurofxref-hist.zip): a header `Date,USD,JPY,…,` (trailing comma),
//   one row per day, `N/A` where a currency was not quoted.
// Values stay decimal strings (fast-xml-parser is told not to turn attributes into numbers). A document that
// is not one of these shapes throws FxFeedError 'fx_feed_malformed' — never a partial or guessed result.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isoDay, normalizePublishedRate, type EurRate } from '../../billing/fx';
import { FxFeedError } from './port';

const CURRENCY_RE = /^[A-Z]{3}$/;

function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function validDate(s: unknown): s is string {
  try {
    return typeof s === 'string' && (isoDay(s), true);
  } catch {
    return false;
  }
}

interface DayCube {
  time?: unknown;
  Cube?: Array<{ currency?: unknown; rate?: unknown }> | { currency?: unknown; rate?: unknown };
}

/** Rates of an ECB XML document (daily, 90-day or full history). */
export function parseEcbXml(xml: string): EurRate[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new FxFeedError('fx_feed_malformed', `ECB XML is not well-formed: ${valid.err.msg} (line ${valid.err.line})`, false);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    removeNSPrefix: true,
    processEntities: false,
    isArray: (name) => name === 'Cube',
  });
  const doc = parser.parse(xml) as { Envelope?: { Cube?: Array<{ Cube?: DayCube[] }> } };
  const outer = doc.Envelope?.Cube?.[0];
  if (!doc.Envelope || !outer) throw new FxFeedError('fx_feed_malformed', 'ECB XML has no gesmes:Envelope/Cube', false);
  const out: EurRate[] = [];
  for (const day of asArray(outer.Cube)) {
    if (!validDate(day.time)) throw new FxFeedError('fx_feed_malformed', `ECB XML day without a valid time: ${JSON.stringify(day.time)}`, false);
    for (const c of asArray(day.Cube)) {
      const rate = typeof c.rate === 'string' ? normalizePublishedRate(c.rate) : null;
      if (typeof c.currency !== 'string' || !CURRENCY_RE.test(c.currency) || rate === null) {
        throw new FxFeedError('fx_feed_malformed', `ECB XML bad rate on ${day.time}: ${JSON.stringify(c)}`, false);
      }
      out.push({ currency: c.currency, date: day.time, rate });
    }
  }
  if (out.length === 0) throw new FxFeedError('fx_feed_malformed', 'ECB XML holds no rates', false);
  return out;
}

/** Rates of the ECB history CSV (eurofxref-hist.csv). `N/A` and empty cells are skipped. */
export function parseEcbHistoryCsv(csv: string): EurRate[] {
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((h) => h.trim());
  if (!header || header[0] !== 'Date') throw new FxFeedError('fx_feed_malformed', 'ECB CSV must start with a "Date,…" header', false);
  const currencies = header.slice(1);
  currencies.forEach((c, i) => {
    if (c !== '' && !CURRENCY_RE.test(c)) throw new FxFeedError('fx_feed_malformed', `ECB CSV header column ${i + 1} is not a currency: ${c}`, false);
    if (c === '' && i !== currencies.length - 1) throw new FxFeedError('fx_feed_malformed', `ECB CSV header column ${i + 1} is empty`, false);
  });
  const out: EurRate[] = [];
  for (let n = 1; n < lines.length; n++) {
    const cells = lines[n]!.split(',').map((c) => c.trim());
    const date = cells[0];
    if (!validDate(date)) throw new FxFeedError('fx_feed_malformed', `ECB CSV line ${n + 1}: bad date ${JSON.stringify(date)}`, false);
    if (cells.length > header.length) throw new FxFeedError('fx_feed_malformed', `ECB CSV line ${n + 1}: more cells than the header`, false);
    currencies.forEach((currency, i) => {
      const cell = cells[i + 1] ?? '';
      if (currency === '' && cell !== '') throw new FxFeedError('fx_feed_malformed', `ECB CSV line ${n + 1}: a value under no currency`, false);
      if (currency === '' || cell === '' || cell === 'N/A') return;
      const rate = normalizePublishedRate(cell);
      if (rate === null) throw new FxFeedError('fx_feed_malformed', `ECB CSV line ${n + 1}: bad ${currency} rate ${JSON.stringify(cell)}`, false);
      out.push({ currency, date, rate });
    });
  }
  if (out.length === 0) throw new FxFeedError('fx_feed_malformed', 'ECB CSV holds no rates', false);
  return out;
}
