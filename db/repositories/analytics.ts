// Analytics in Lago's shape (GET /analytics/*), computed in SQL over the invoices and fees tables. Money is summed
// as bigint minor units, per currency and calendar month (UTC), never converted between currencies. Only
// finalized invoices count, voided ones never.
//
// - gross revenue: total_amount_cents (taxes included) of finalized invoices, by issuing month.
// - invoiced usage: usage-based fees (`charge`, and late-event adjustments of charges) by issuing month and
//   metric code. Progressive-billing invoices are left out: the period's final invoice bills the whole period's
//   usage again and deducts them, so counting both would count that usage twice.
// - MRR: subscription fees. Monthly (and custom) plans: the whole fee in its issuing month. Quarterly, semiannual
//   and yearly plans: the fee split in 3 / 6 / 12 monthly parts over the months its billed period starts with
//   (in advance or in arrears alike, the fee's from_datetime decides), part k = floor(A·(k+1)/n) − floor(A·k/n),
//   so the parts are integers and sum exactly to A. Weekly plans: per subscription and issuing month, the mean of
//   its weekly fees × 4.33, rounded half-up to the minor unit (round(sum·433 / (count·100))). Months after the
//   current one are not reported.
// - overdue balance: what is still due (total − paid) on finalized, unvoided, not fully paid invoices flagged
//   overdue or past their payment due date, by due month, with their ids.
//
// `months` keeps the last N calendar months up to and including the current one (UTC). Months without data are
// absent (no zero rows).
import type { Knex } from 'knex';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export interface AnalyticsFilter {
  organizationId: string;
  currency?: string;
  externalCustomerId?: string;
  months?: number;
  /** The instant "now" for `months`, the current month and overdue checks (the route passes the wall clock). */
  now: Date;
}

export interface GrossRevenueRow { month: string; currency: string; amountCents: number; invoicesCount: number }
export interface InvoicedUsageRow { month: string; code: string | null; currency: string; amountCents: number }
export interface MrrRow { month: string; currency: string; amountCents: number }
export interface OverdueBalanceRow { month: string; currency: string; amountCents: number; invoiceIds: string[] }

/** `2026-11-01T00:00:00.000Z` for a timestamp (without time zone) at a month's start. */
const MONTH_ISO = `to_char(month, 'YYYY-MM-DD') || 'T00:00:00.000Z'`;
const ISSUED_MONTH = `date_trunc('month', coalesce(i.issuing_date::timestamp, i.finalized_at AT TIME ZONE 'UTC', i.period_end AT TIME ZONE 'UTC'))`;


/** Scope and filters on `invoices i` joined to `customers c`: SQL fragment and its bindings. */
function invoiceScope(f: AnalyticsFilter): { sql: string; bindings: Knex.RawBinding[] } {
  let sql = `i.organization_id = ? AND i.status = 'finalized' AND i.voided_at IS NULL`;
  const bindings: Knex.RawBinding[] = [f.organizationId];
  if (f.currency !== undefined) {
    sql += ` AND i.currency = ?`;
    bindings.push(f.currency);
  }
  if (f.externalCustomerId !== undefined) {
    sql += ` AND c.external_id = ?`;
    bindings.push(f.externalCustomerId);
  }
  return { sql, bindings };
}

/** `month` bounds: from the first of the last N months (when given) to the end of the current month. */
function monthBounds(f: AnalyticsFilter): { sql: string; bindings: Knex.RawBinding[] } {
  const current = `date_trunc('month', (?::timestamptz) AT TIME ZONE 'UTC')`;
  const now = f.now.toISOString();
  if (f.months === undefined) return { sql: `month <= ${current}`, bindings: [now] };
  return { sql: `month <= ${current} AND month >= ${current} - (? * interval '1 month')`, bindings: [now, now, f.months - 1] };
}

export async function grossRevenues(db: Db, f: AnalyticsFilter): Promise<GrossRevenueRow[]> {
  const scope = invoiceScope(f);
  const bounds = monthBounds(f);
  const { rows } = await db.raw(
    `SELECT ${MONTH_ISO} AS month, currency, amount_cents, invoices_count FROM (
       SELECT ${ISSUED_MONTH} AS month, trim(i.currency) AS currency, sum(i.total_amount_cents)::bigint AS amount_cents, count(*)::int AS invoices_count
       FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.organization_id = i.organization_id
       WHERE ${scope.sql}
       GROUP BY 1, 2
     ) t WHERE ${bounds.sql} ORDER BY t.month, currency`,
    [...scope.bindings, ...bounds.bindings],
  );
  return rows.map((r: any) => ({ month: r.month, currency: r.currency, amountCents: minorUnits(r.amount_cents, 'analytics amount'), invoicesCount: r.invoices_count }));
}

export async function invoicedUsages(db: Db, f: AnalyticsFilter): Promise<InvoicedUsageRow[]> {
  const scope = invoiceScope(f);
  const bounds = monthBounds(f);
  const { rows } = await db.raw(
    `SELECT ${MONTH_ISO} AS month, code, currency, amount_cents FROM (
       SELECT ${ISSUED_MONTH} AS month, fe.metric_code AS code, trim(i.currency) AS currency, sum(fe.amount_cents)::bigint AS amount_cents
       FROM fees fe
       JOIN invoices i ON i.id = fe.invoice_id AND i.organization_id = fe.organization_id
       JOIN customers c ON c.id = i.customer_id AND c.organization_id = i.organization_id
       WHERE ${scope.sql} AND i.invoice_type <> 'progressive_billing'
         AND (fe.fee_type = 'charge' OR (fe.fee_type = 'adjustment' AND fe.adjusts_fee_type = 'charge'))
       GROUP BY 1, 2, 3
     ) t WHERE ${bounds.sql} ORDER BY t.month, currency, code NULLS LAST`,
    [...scope.bindings, ...bounds.bindings],
  );
  return rows.map((r: any) => ({ month: r.month, code: r.code, currency: r.currency, amountCents: minorUnits(r.amount_cents, 'analytics amount') }));
}

export async function mrrs(db: Db, f: AnalyticsFilter): Promise<MrrRow[]> {
  const scope = invoiceScope(f);
  const bounds = monthBounds(f);
  const { rows } = await db.raw(
    `WITH sub_fees AS (
       SELECT fe.amount_cents::bigint AS amount_cents, trim(i.currency) AS currency, p.interval, i.subscription_id,
              ${ISSUED_MONTH} AS issued_month,
              date_trunc('month', fe.from_datetime AT TIME ZONE 'UTC') AS covered_month,
              CASE p.interval WHEN 'quarterly' THEN 3 WHEN 'semiannual' THEN 6 WHEN 'yearly' THEN 12 ELSE 1 END AS n
       FROM fees fe
       JOIN invoices i ON i.id = fe.invoice_id AND i.organization_id = fe.organization_id
       JOIN customers c ON c.id = i.customer_id AND c.organization_id = i.organization_id
       JOIN subscriptions s ON s.id = i.subscription_id AND s.organization_id = i.organization_id
       JOIN plans p ON p.id = s.plan_id
       WHERE ${scope.sql} AND fe.fee_type = 'subscription'
     ), parts AS (
       SELECT issued_month AS month, currency, amount_cents FROM sub_fees WHERE interval NOT IN ('weekly', 'quarterly', 'semiannual', 'yearly')
       UNION ALL
       SELECT covered_month + k * interval '1 month' AS month, currency, (amount_cents * (k + 1)) / n - (amount_cents * k) / n AS amount_cents
       FROM sub_fees CROSS JOIN LATERAL generate_series(0, n - 1) AS k
       WHERE interval IN ('quarterly', 'semiannual', 'yearly')
       UNION ALL
       SELECT issued_month AS month, currency, round(sum(amount_cents)::numeric * 433 / (count(*) * 100))::bigint AS amount_cents
       FROM sub_fees WHERE interval = 'weekly' GROUP BY subscription_id, issued_month, currency
     )
     SELECT ${MONTH_ISO} AS month, currency, amount_cents FROM (
       SELECT month, currency, sum(amount_cents)::bigint AS amount_cents FROM parts GROUP BY month, currency
     ) t WHERE ${bounds.sql} ORDER BY t.month, currency`,
    [...scope.bindings, ...bounds.bindings],
  );
  return rows.map((r: any) => ({ month: r.month, currency: r.currency, amountCents: minorUnits(r.amount_cents, 'analytics amount') }));
}

export async function overdueBalances(db: Db, f: AnalyticsFilter): Promise<OverdueBalanceRow[]> {
  const scope = invoiceScope(f);
  const bounds = monthBounds(f);
  const today = `((?::timestamptz) AT TIME ZONE 'UTC')::date`;
  const { rows } = await db.raw(
    `WITH due AS (
       SELECT i.id, trim(i.currency) AS currency, (i.total_amount_cents - i.total_paid_amount_cents)::bigint AS due_cents, i.payment_overdue,
              coalesce(i.payment_due_date, i.issuing_date + coalesce(c.net_payment_term, bes.net_payment_term)) AS due_date
       FROM invoices i
       JOIN customers c ON c.id = i.customer_id AND c.organization_id = i.organization_id
       JOIN billing_entity_settings bes ON bes.organization_id = i.organization_id AND bes.code = i.billing_entity_code
       WHERE ${scope.sql} AND i.payment_status <> 'succeeded' AND i.total_amount_cents > i.total_paid_amount_cents
     )
     SELECT ${MONTH_ISO} AS month, currency, amount_cents, invoice_ids FROM (
       SELECT date_trunc('month', due_date::timestamp) AS month, currency, sum(due_cents)::bigint AS amount_cents, array_agg(id::text ORDER BY id) AS invoice_ids
       FROM due WHERE due_date IS NOT NULL AND (payment_overdue OR due_date < ${today})
       GROUP BY 1, 2
     ) t WHERE ${bounds.sql} ORDER BY t.month, currency`,
    [...scope.bindings, f.now.toISOString(), ...bounds.bindings],
  );
  return rows.map((r: any) => ({ month: r.month, currency: r.currency, amountCents: minorUnits(r.amount_cents, 'analytics amount'), invoiceIds: r.invoice_ids }));
}

// ---- invoice collection (issue 13, ops13b: GET /analytics/invoice_collection, Lago's findAllInvoiceCollections) ----
// Finalized, unvoided invoices by issuing month, currency and payment status (pending / succeeded / failed), with
// their count and Σ total_amount_cents (taxes included). Same scope, filters and month bounds as gross revenue.

export interface InvoiceCollectionRow { month: string; currency: string; paymentStatus: string; invoicesCount: number; amountCents: number }

export async function invoiceCollections(db: Db, f: AnalyticsFilter): Promise<InvoiceCollectionRow[]> {
  const scope = invoiceScope(f);
  const bounds = monthBounds(f);
  const { rows } = await db.raw(
    `SELECT ${MONTH_ISO} AS month, currency, payment_status, invoices_count, amount_cents FROM (
       SELECT ${ISSUED_MONTH} AS month, trim(i.currency) AS currency, i.payment_status, count(*)::int AS invoices_count, sum(i.total_amount_cents)::bigint AS amount_cents
       FROM invoices i JOIN customers c ON c.id = i.customer_id AND c.organization_id = i.organization_id
       WHERE ${scope.sql}
       GROUP BY 1, 2, 3
     ) t WHERE ${bounds.sql} ORDER BY t.month, currency, payment_status`,
    [...scope.bindings, ...bounds.bindings],
  );
  return rows.map((r: any) => ({ month: r.month, currency: r.currency, paymentStatus: r.payment_status, invoicesCount: r.invoices_count, amountCents: minorUnits(r.amount_cents, 'analytics amount') }));
}
