// FX for operators (Meterline extension; Lago has no FX API):
//   PUT  /fx_settings {fx_settings: {invoicing_enabled}}  → {fx_settings}  allow invoicing a customer in a currency
//   GET  /fx_settings                                      → {fx_settings}  other than its plan's price currency
//   POST /fx_rates {fx_rate: {base_currency, quote_currency, date, rate, note?}} → {fx_rate}  a manual rate (source
//        `manual`), the fallback when the ECB has no usable rate; re-posting the same pair and date corrects it
//   GET  /fx_rates/resolve?base_currency=USD&quote_currency=EUR&date=YYYY-MM-DD → {fx_rate} the rate an invoice of
//        that date would use, or 404 `fx_rate_missing` / `fx_rate_stale` with the reason (why an invoice waits)
// Bad input → 422 with the field: unknown currency (`unsupported_currency`), a rate that is not a positive plain
// decimal (`invalid_fx_rate`), a date that is not a calendar date (`invalid_date`), the same currency twice.
import { Router } from 'express';
import { isSupportedCurrency } from '../../billing/currency';
import { isoDay, parseRate } from '../../billing/fx';
import { resolveStoredRate, upsertManualRate } from '../../db/repositories/fx-rates';
import { isFxInvoicingEnabled, setFxInvoicingEnabled } from '../../db/repositories/invoice-fx';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, addDetail, validationError } from '../errors';
import { parseBody } from '../schemas/common';
import { FxRateResolveQuery as ResolveQuery, FxSettingsBody as SettingsBody, ManualFxRateBody as ManualRateBody } from '../schemas/fx';

function checkPair(base: string, quote: string, date: string, rate?: string): void {
  const details: Record<string, string[]> = {};
  if (!isSupportedCurrency(base)) addDetail(details, 'base_currency', 'unsupported_currency');
  if (!isSupportedCurrency(quote)) addDetail(details, 'quote_currency', 'unsupported_currency');
  if (base === quote) addDetail(details, 'quote_currency', 'same_as_base_currency');
  try {
    isoDay(date);
  } catch {
    addDetail(details, 'date', 'invalid_date');
  }
  if (rate !== undefined) {
    try {
      parseRate(rate);
    } catch {
      addDetail(details, 'rate', 'invalid_fx_rate');
    }
  }
  if (Object.keys(details).length > 0) throw validationError(details);
}

export function fxRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/fx_settings', async (_req, res) => {
    res.json({ fx_settings: { invoicing_enabled: await isFxInvoicingEnabled(ctx.db, orgId(res)) } });
  });

  r.put('/fx_settings', async (req, res) => {
    const body = parseBody(SettingsBody, req.body);
    await setFxInvoicingEnabled(ctx.db, orgId(res), body.fx_settings.invoicing_enabled);
    res.json({ fx_settings: { invoicing_enabled: body.fx_settings.invoicing_enabled } });
  });

  r.post('/fx_rates', async (req, res) => {
    const { fx_rate: b } = parseBody(ManualRateBody, req.body);
    checkPair(b.base_currency, b.quote_currency, b.date, b.rate);
    const row = await upsertManualRate(ctx.db, orgId(res), { baseCurrency: b.base_currency, quoteCurrency: b.quote_currency, date: b.date, rate: b.rate, note: b.note ?? null });
    res.json({ fx_rate: { lago_id: row.id, base_currency: row.baseCurrency, quote_currency: row.quoteCurrency, date: row.date, rate: row.rate, source: 'manual' } });
  });

  r.get('/fx_rates/resolve', async (req, res) => {
    const q = parseBody(ResolveQuery, req.query);
    checkPair(q.base_currency, q.quote_currency, q.date);
    const lookup = await resolveStoredRate(ctx.db, orgId(res), q.base_currency, q.quote_currency, q.date);
    if (!lookup.ok) throw new ApiError(404, lookup.code, lookup.message, { rate: [lookup.code] });
    const x = lookup.rate;
    res.json({ fx_rate: { base_currency: x.baseCurrency, quote_currency: x.quoteCurrency, date: x.date, rate: x.rate, source: x.source } });
  });

  return r;
}
