// Invoices and their fees: the only place invoice rows become domain records.
//
// Read side (used by api/): getInvoice, listInvoices → InvoiceRecord (instants as ISO-8601 UTC strings,
// issuing date as YYYY-MM-DD, amounts as integer cents, precise values as decimal strings).
//
// Write side (used by activities/):
// - upsertPeriodInvoice: one invoice per (subscription_id, period_start, period_end, invoice_type), enforced
//   by the unique index. INSERT ... ON CONFLICT DO NOTHING, then lock the row and read it back: a new or
//   draft invoice gets its fees and totals (re)written; a finalized invoice is left untouched.
// - finalizeInvoice: draft → finalized in one transaction; allocates the next number of the organization's
//   gap-free sequence (`invoice_sequences`, the row lock serializes concurrent finalizations).
//
// Invoice number format: `<PREFIX>-<YYYYMM>-<SEQ>` (Lago's shape), where PREFIX is the first 3
// alphanumerics of the organization slug, upper-cased (`ML` when the slug has none), YYYYMM is the issuing
// month in the customer's timezone, and SEQ is the organization-wide sequence zero-padded to 6 digits. The
// sequence never resets (per organization, not per month), so numbers are gap-free and strictly increasing
// in finalization order; the month part is informative only. Example: `ACM-202611-000001`.
import type { Knex } from 'knex';

export interface FeeRecord {
  id: string;
  invoiceId: string;
  position: number;
  feeType: string;
  chargeId: string | null;
  metricCode: string | null;
  displayName: string;
  filterIndex: number | null;
  filterValues: Record<string, string[]> | null;
  groupedBy: Record<string, string>;
  /** Decimal string. */
  units: string;
  eventsCount: number;
  /** Decimal string. */
  unitAmount: string;
  /** Decimal string (major units, unrounded). */
  preciseAmount: string;
  amountCents: number;
  currency: string;
  /** Decimal string, or null when the fee is not prorated. */
  prorationRatio: string | null;
  fromDatetime: string;
  toDatetime: string;
}

export type InvoiceStatus = 'draft' | 'finalized';

export interface InvoiceRecord {
  id: string;
  organizationId: string;
  customerId: string;
  externalCustomerId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  invoiceType: string;
  status: InvoiceStatus;
  paymentStatus: string;
  number: string | null;
  periodStart: string;
  periodEnd: string;
  /** YYYY-MM-DD (the customer's local date of finalization). */
  issuingDate: string | null;
  currency: string;
  feesAmountCents: number;
  taxesAmountCents: number;
  totalAmountCents: number;
  finalizedAt: string | null;
  createdAt: string;
  updatedAt: string;
  fees: FeeRecord[];
}

export interface ListInvoicesFilter {
  externalCustomerId?: string;
  externalSubscriptionId?: string;
  status?: string;
  /** 1-based. */
  page: number;
  perPage: number;
}

type Db = Knex | Knex.Transaction;

// ---------------------------------------------------------------------------------------------------------
// Row mapping

interface InvoiceRow {
  id: string;
  organization_id: string;
  customer_id: string;
  external_customer_id: string;
  subscription_id: string;
  external_subscription_id: string;
  invoice_type: string;
  status: string;
  payment_status: string;
  number: string | null;
  period_start: Date;
  period_end: Date;
  issuing_date: string | null;
  currency: string;
  fees_amount_cents: number;
  taxes_amount_cents: number;
  total_amount_cents: number;
  finalized_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface FeeRow {
  id: string;
  invoice_id: string;
  position: number;
  fee_type: string;
  charge_id: string | null;
  metric_code: string | null;
  display_name: string;
  filter_index: number | null;
  filter_values: Record<string, string[]> | null;
  grouped_by: Record<string, string> | null;
  units: string;
  events_count: number;
  unit_amount: string;
  precise_amount: string;
  amount_cents: number;
  currency: string;
  proration_ratio: string | null;
  from_datetime: Date;
  to_datetime: Date;
}

function iso(d: Date): string {
  return d.toISOString();
}

/** Postgres numeric text → canonical decimal string ("246.905000000000000" → "246.905", "0.000" → "0"). */
export function normalizeDecimal(s: string): string {
  if (!s.includes('.')) return s === '-0' ? '0' : s;
  let out = s.replace(/0+$/, '').replace(/\.$/, '');
  if (out === '-0' || out === '') out = '0';
  return out;
}

function toInvoiceStatus(s: string): InvoiceStatus {
  if (s === 'draft' || s === 'finalized') return s;
  throw new Error(`Unexpected invoice status in the database: ${s}`);
}

function feeFromRow(r: FeeRow): FeeRecord {
  return {
    id: r.id,
    invoiceId: r.invoice_id,
    position: r.position,
    feeType: r.fee_type,
    chargeId: r.charge_id,
    metricCode: r.metric_code,
    displayName: r.display_name,
    filterIndex: r.filter_index,
    filterValues: r.filter_values,
    groupedBy: r.grouped_by ?? {},
    units: normalizeDecimal(r.units),
    eventsCount: r.events_count,
    unitAmount: normalizeDecimal(r.unit_amount),
    preciseAmount: normalizeDecimal(r.precise_amount),
    amountCents: r.amount_cents,
    currency: r.currency.trim(),
    prorationRatio: r.proration_ratio === null ? null : normalizeDecimal(r.proration_ratio),
    fromDatetime: iso(r.from_datetime),
    toDatetime: iso(r.to_datetime),
  };
}

function invoiceFromRow(r: InvoiceRow, fees: FeeRecord[]): InvoiceRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    customerId: r.customer_id,
    externalCustomerId: r.external_customer_id,
    subscriptionId: r.subscription_id,
    externalSubscriptionId: r.external_subscription_id,
    invoiceType: r.invoice_type,
    status: toInvoiceStatus(r.status),
    paymentStatus: r.payment_status,
    number: r.number,
    periodStart: iso(r.period_start),
    periodEnd: iso(r.period_end),
    issuingDate: r.issuing_date,
    currency: r.currency.trim(),
    feesAmountCents: r.fees_amount_cents,
    taxesAmountCents: r.taxes_amount_cents,
    totalAmountCents: r.total_amount_cents,
    finalizedAt: r.finalized_at === null ? null : iso(r.finalized_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    fees,
  };
}

function invoiceQuery(db: Db, organizationId: string): Knex.QueryBuilder {
  return db('invoices as i')
    .join('customers as c', 'c.id', 'i.customer_id')
    .join('subscriptions as s', 's.id', 'i.subscription_id')
    .where('i.organization_id', organizationId);
}

const INVOICE_COLUMNS = [
  'i.id', 'i.organization_id', 'i.customer_id', 'c.external_id as external_customer_id', 'i.subscription_id',
  's.external_id as external_subscription_id', 'i.invoice_type', 'i.status', 'i.payment_status', 'i.number',
  'i.period_start', 'i.period_end', 'i.currency', 'i.fees_amount_cents', 'i.taxes_amount_cents',
  'i.total_amount_cents', 'i.finalized_at', 'i.created_at', 'i.updated_at',
];

function selectInvoiceColumns(db: Db, q: Knex.QueryBuilder): Knex.QueryBuilder {
  // DATE as text: node-pg would otherwise turn it into a JS Date at the process's local midnight.
  return q.select([...INVOICE_COLUMNS, db.raw(`to_char(i.issuing_date, 'YYYY-MM-DD') as issuing_date`)]);
}

async function loadFees(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, FeeRecord[]>> {
  const byInvoice = new Map<string, FeeRecord[]>();
  if (invoiceIds.length === 0) return byInvoice;
  const rows: FeeRow[] = await db('fees')
    .where('organization_id', organizationId)
    .whereIn('invoice_id', invoiceIds)
    .orderBy([{ column: 'invoice_id' }, { column: 'position' }]);
  for (const r of rows) {
    const list = byInvoice.get(r.invoice_id) ?? [];
    list.push(feeFromRow(r));
    byInvoice.set(r.invoice_id, list);
  }
  return byInvoice;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------------------
// Read side

export async function getInvoice(db: Db, organizationId: string, invoiceId: string): Promise<InvoiceRecord | null> {
  // A malformed id is "not found", not a Postgres cast error.
  if (!UUID_RE.test(invoiceId)) return null;
  const row: InvoiceRow | undefined = await selectInvoiceColumns(db, invoiceQuery(db, organizationId).where('i.id', invoiceId)).first();
  if (!row) return null;
  const fees = await loadFees(db, organizationId, [row.id]);
  return invoiceFromRow(row, fees.get(row.id) ?? []);
}

export async function listInvoices(
  db: Db,
  organizationId: string,
  filter: ListInvoicesFilter,
): Promise<{ invoices: InvoiceRecord[]; totalCount: number }> {
  const page = Math.max(1, Math.trunc(filter.page));
  const perPage = Math.max(1, Math.trunc(filter.perPage));
  const filtered = (): Knex.QueryBuilder => {
    const q = invoiceQuery(db, organizationId);
    if (filter.externalCustomerId !== undefined) q.where('c.external_id', filter.externalCustomerId);
    if (filter.externalSubscriptionId !== undefined) q.where('s.external_id', filter.externalSubscriptionId);
    if (filter.status !== undefined) q.where('i.status', filter.status);
    return q;
  };
  const countRow = (await filtered().count<{ count: string | number }[]>({ count: '*' }).first()) as
    | { count: string | number }
    | undefined;
  const totalCount = Number(countRow?.count ?? 0);
  const rows: InvoiceRow[] = await selectInvoiceColumns(db, filtered())
    .orderBy([{ column: 'i.created_at', order: 'desc' }, { column: 'i.id', order: 'desc' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  const fees = await loadFees(db, organizationId, rows.map((r) => r.id));
  return { invoices: rows.map((r) => invoiceFromRow(r, fees.get(r.id) ?? [])), totalCount };
}
