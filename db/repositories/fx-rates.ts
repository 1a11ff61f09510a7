// FX rates storage (migration 20261201000400): published ECB rates (global reference data) and the
// organizations' manual rates. Rates travel as decimal strings (numeric → text), never floats.
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { DEFAULT_MAX_STALENESS_DAYS, FX_BASE_CURRENCY, resolveRate, type EurRate, type ManualRate, type RateLookup } from '../../billing/fx';

type Db = Knex | Knex.Transaction;

/** Manual rates older than this before D are not used (operators enter them less often than daily). */
export const MANUAL_MAX_STALENESS_DAYS = 31;

const CHUNK = 1000;

/**
 * Writes published rates idempotently on (source, base, currency, date): a figure already stored is left
 * alone unless the feed now says otherwise (a correction), which updates it. Returns how many rows changed.
 */
export async function upsertPublishedRates(db: Db, source: string, rates: readonly EurRate[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < rates.length; i += CHUNK) {
    const chunk = rates.slice(i, i + CHUNK);
    const res = await db.raw(
      `INSERT INTO fx_rates (source, base_currency, currency, rate_date, rate)
       SELECT ?, ?, c, d::date, r::numeric FROM unnest(?::text[], ?::text[], ?::text[]) AS t(c, d, r)
       ON CONFLICT (source, base_currency, currency, rate_date)
       DO UPDATE SET rate = EXCLUDED.rate, fetched_at = now() WHERE fx_rates.rate <> EXCLUDED.rate`,
      [source, FX_BASE_CURRENCY, chunk.map((r) => r.currency), chunk.map((r) => r.date), chunk.map((r) => r.rate)],
    );
    changed += (res as { rowCount: number }).rowCount;
  }
  return changed;
}

function isoDate(d: Date | string): string {
  return typeof d === 'string' ? d.slice(0, 10) : DateTime.fromJSDate(d, { zone: 'utc' }).toISODate()!;
}

function daysBefore(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'utc' }).minus({ days }).toISODate()!;
}

/** Published rates of these currencies in [from, to] (inclusive dates). */
export async function loadPublishedRates(db: Db, source: string, currencies: string[], from: string, to: string): Promise<EurRate[]> {
  const rows: { currency: string; rate_date: Date | string; rate: string }[] = await db('fx_rates')
    .where({ source, base_currency: FX_BASE_CURRENCY })
    .whereIn('currency', currencies)
    .whereBetween('rate_date', [from, to])
    .select('currency', db.raw('rate_date::text as rate_date'), db.raw('rate::text as rate'));
  return rows.map((r) => ({ currency: r.currency.trim(), date: isoDate(r.rate_date), rate: r.rate }));
}

/** The latest publication date stored for the source (null when nothing was ever fetched). */
export async function latestPublishedDate(db: Db, source: string): Promise<string | null> {
  const row: { d: string | null } | undefined = await db('fx_rates').where({ source }).first(db.raw('max(rate_date)::text as d'));
  return row?.d ?? null;
}

export interface ManualRateInput extends ManualRate {
  note?: string | null;
}

/** Enters (or corrects) the organization's rate for a pair on a date: one row per (pair, date). */
export async function upsertManualRate(db: Db, organizationId: string, input: ManualRateInput): Promise<ManualRate & { id: string }> {
  const [row] = await db('fx_manual_rates')
    .insert({
      organization_id: organizationId,
      base_currency: input.baseCurrency,
      quote_currency: input.quoteCurrency,
      rate_date: input.date,
      rate: input.rate,
      note: input.note ?? null,
    })
    .onConflict(['organization_id', 'base_currency', 'quote_currency', 'rate_date'])
    .merge(['rate', 'note'])
    .returning(['id', 'base_currency', 'quote_currency', db.raw('rate_date::text as rate_date'), db.raw('rate::text as rate')]);
  return { id: row.id, baseCurrency: row.base_currency.trim(), quoteCurrency: row.quote_currency.trim(), date: isoDate(row.rate_date), rate: row.rate };
}

export async function loadManualRates(db: Db, organizationId: string, from: string, to: string, fromDate: string, toDate: string): Promise<ManualRate[]> {
  const rows: { base_currency: string; quote_currency: string; rate_date: string; rate: string }[] = await db('fx_manual_rates')
    .where({ organization_id: organizationId, base_currency: from, quote_currency: to })
    .whereBetween('rate_date', [fromDate, toDate])
    .select('base_currency', 'quote_currency', db.raw('rate_date::text as rate_date'), db.raw('rate::text as rate'));
  return rows.map((r) => ({ baseCurrency: r.base_currency.trim(), quoteCurrency: r.quote_currency.trim(), date: isoDate(r.rate_date), rate: r.rate }));
}

/**
 * The organization's rate from → to for date D (billing/fx.ts resolveRate): the ECB's (7-day staleness)
 * first, its manual table (31 days) as the fallback. Only the rows that can matter are read.
 */
export async function resolveStoredRate(db: Db, organizationId: string, from: string, to: string, date: string): Promise<RateLookup> {
  const legs = [from, to].filter((c) => c !== FX_BASE_CURRENCY);
  const published = legs.length === 0 || from === to ? [] : await loadPublishedRates(db, 'ecb', legs, daysBefore(date, DEFAULT_MAX_STALENESS_DAYS + 7), date);
  const manual = from === to ? [] : await loadManualRates(db, organizationId, from, to, daysBefore(date, MANUAL_MAX_STALENESS_DAYS + 1), date);
  return resolveRate(published, manual, from, to, date, { maxStalenessDays: DEFAULT_MAX_STALENESS_DAYS, manualMaxStalenessDays: MANUAL_MAX_STALENESS_DAYS });
}
