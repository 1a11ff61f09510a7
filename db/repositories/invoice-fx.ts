// The FX side of an invoice (migration 20261201000401): the organization's setting, and the rate, source and
// date stored on an invoice converted from its plan's price currency (or why it waits for a rate).
import type { Knex } from 'knex';
import type { FxRate } from '../../billing/fx';

type Db = Knex | Knex.Transaction;

export type InvoiceFxStatus = 'converted' | 'waiting_for_rate';

export interface InvoiceFx {
  status: InvoiceFxStatus;
  /** The plan's currency the lines were priced in. */
  priceCurrency: string;
  /** 1 priceCurrency = rate invoice currency; null while waiting. */
  rate: string | null;
  source: string | null;
  /** Publication date of the rate (YYYY-MM-DD). */
  rateDate: string | null;
  /** Why the invoice waits (null once converted). */
  error: string | null;
}

export async function isFxInvoicingEnabled(db: Db, organizationId: string): Promise<boolean> {
  const row: { fx_invoicing_enabled: boolean } | undefined = await db('organizations').where({ id: organizationId }).first('fx_invoicing_enabled');
  return row?.fx_invoicing_enabled === true;
}

export async function setFxInvoicingEnabled(db: Db, organizationId: string, enabled: boolean): Promise<void> {
  await db('organizations').where({ id: organizationId }).update({ fx_invoicing_enabled: enabled });
}

/** Records the conversion of a draft (or clears it when the invoice is in its price currency). Drafts only. */
export async function recordInvoiceConversion(trx: Db, organizationId: string, invoiceId: string, rate: FxRate | null, priceCurrency: string): Promise<void> {
  await trx('invoices')
    .where({ organization_id: organizationId, id: invoiceId, status: 'draft' })
    .update(
      rate === null
        ? { price_currency: null, fx_rate: null, fx_rate_source: null, fx_rate_date: null, fx_status: null, fx_error: null }
        : { price_currency: priceCurrency, fx_rate: rate.rate, fx_rate_source: rate.source, fx_rate_date: rate.date, fx_status: 'converted', fx_error: null },
    );
}

/** Marks a draft as waiting for a rate, with the reason operators see. */
export async function recordInvoiceWaitingForRate(db: Db, organizationId: string, invoiceId: string, priceCurrency: string, reason: string): Promise<void> {
  await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId, status: 'draft' })
    .update({ price_currency: priceCurrency, fx_rate: null, fx_rate_source: null, fx_rate_date: null, fx_status: 'waiting_for_rate', fx_error: reason });
}

export async function getInvoicesFx(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, InvoiceFx>> {
  if (invoiceIds.length === 0) return new Map();
  const rows: { id: string; fx_status: InvoiceFxStatus; price_currency: string; fx_rate: string | null; fx_rate_source: string | null; fx_rate_date: string | null; fx_error: string | null }[] =
    await db('invoices')
      .where({ organization_id: organizationId })
      .whereIn('id', invoiceIds)
      .whereNotNull('fx_status')
      .select('id', 'fx_status', 'price_currency', db.raw('fx_rate::text as fx_rate'), 'fx_rate_source', db.raw('fx_rate_date::text as fx_rate_date'), 'fx_error');
  return new Map(
    rows.map((r) => [
      r.id,
      { status: r.fx_status, priceCurrency: r.price_currency.trim(), rate: r.fx_rate, source: r.fx_rate_source, rateDate: r.fx_rate_date, error: r.fx_error },
    ]),
  );
}
