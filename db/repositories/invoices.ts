// Invoices and their fees: the only place invoice rows become domain records.
//
// Read side (used by api/): getInvoice, listInvoices → InvoiceRecord (instants as ISO-8601 UTC strings,
// issuing date as YYYY-MM-DD, amounts as integer cents, precise values as decimal strings).
//
// Write side (used by activities/):
// - claimPeriodInvoice + replaceDraftFees: one invoice per (subscription_id, period_start, period_end,
//   invoice_type), enforced by the unique index. INSERT ... ON CONFLICT DO NOTHING, then lock the row and read
//   it back: a new or draft invoice gets its fees and totals (re)written; a finalized invoice is left untouched.
// - finalizeInvoice: draft → finalized in one transaction; allocates the next number of the issuing billing entity's
//   gap-free sequence (db/repositories/invoice-numbering.ts; the row lock serializes concurrent finalizations).
//   finalizeLockedInvoice does the same inside the caller's transaction (the activity re-rates the draft
//   first, in that same transaction, so nothing committed before the numbering is left out).
// - Late events: draftInvoicePeriods (the API's late-event notifier matches event timestamps to them),
//   finalizedInvoicesBefore + billedFeesOfInvoices (what was billed for earlier finalized periods, their own
//   usage lines plus `adjustment` fees for them on other finalized invoices; see activities/invoices.ts).
//
// Invoice number format (the default entity's, as before billing entities): `<PREFIX>-<YYYYMM>-<SEQ>` (Lago's
// shape), where PREFIX is the first 3 alphanumerics of the organization slug, upper-cased (`ML` when the slug has
// none), YYYYMM is the issuing month in the customer's timezone (else the entity's), and SEQ is the entity's sequence
// zero-padded to 6 digits. The sequence never resets, so numbers are gap-free and strictly increasing in
// finalization order; the month part is informative only. Example: `ACM-202611-000001`. Other entities and
// per_customer numbering: db/repositories/invoice-numbering.ts.
import type { FeeAppliedTax, FeeTaxes, InvoiceAppliedTax, TaxDecision, TaxedInvoiceDraft } from '../../billing/tax';
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { DateTime } from 'luxon';
import { BillingError } from '../../billing/errors';
import type { AdjustableFeeKind, Fee, FeeKind, InvoiceDraft } from '../../billing/invoice';
import type { Period } from '../../billing/types';
import { enqueueWebhook } from './webhooks';
import { formatInvoiceNumber, invoiceNumbering, issuerContext } from './invoice-numbering';
import { applyPrepaidCredits } from './wallet-consumption';

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
  /** Adjustment fees only: the finalized invoice (and its period) whose late usage this fee bills. */
  adjustsInvoiceId: string | null;
  adjustsPeriodStart: string | null;
  adjustsPeriodEnd: string | null;
  /** Adjustment fees only: charge | charge_minimum | minimum_commitment. */
  adjustsFeeType: string | null;
  /** billing/tax: the fee's taxes (0 / [] before taxes were computed). */
  taxes: StoredFeeTaxes;
  /** billing/coupons: the fee's share of the invoice's coupons (minor units, decimal string; "0" without). */
  preciseCouponsAmountCents: string;
  /** Add-on fees of one-off invoices: the add-on and the line's description. */
  addOnId: string | null;
  description: string | null;
  /** Subscription fees: the code of the plan the fee was billed under (null: not recorded; the subscription's plan). */
  planCode?: string | null;
}

export interface StoredFeeTaxes {
  taxesAmountCents: number;
  /** Decimal string, minor units, unrounded. */
  taxesPreciseAmountCents: string;
  /** Decimal string, percentage. */
  taxesRate: string;
  appliedTaxes: FeeAppliedTax[];
}

/** billing/tax: the invoice's applied taxes, its pro-rated rate and the automatic rule's decision (null when none). */
export interface StoredInvoiceTaxes {
  taxesRate: string;
  appliedTaxes: InvoiceAppliedTax[];
  taxDecision: TaxDecision | null;
}

// 'deleted': a draft deleted by DELETE /invoices/:lago_id (db/repositories/invoice-deletion.ts), kept as the period's
// tombstone; client-facing reads leave it out (invoiceQuery).
// failed13: `failed` = a finalization attempt failed (a tax engine's permanent error); error_details in
// db/repositories/invoice-error-details.ts; only a retry leaves it (to finalized, or failed again).
export type InvoiceStatus = 'draft' | 'finalized' | 'deleted' | 'failed';

export interface InvoiceRecord {
  id: string;
  organizationId: string;
  customerId: string;
  externalCustomerId: string;
  /** Null for one-off invoices (add-on fees, no subscription). */
  subscriptionId: string | null;
  externalSubscriptionId: string | null;
  invoiceType: string;
  status: InvoiceStatus;
  paymentStatus: string;
  number: string | null;
  /** The billing entity that issues the invoice (its customer's when the draft was created). */
  billingEntityCode: string;
  periodStart: string;
  periodEnd: string;
  /** YYYY-MM-DD (the customer's local date of finalization). */
  issuingDate: string | null;
  currency: string;
  feesAmountCents: number;
  taxesAmountCents: number;
  /** billing/coupons: Σ of the coupons' credits on the invoice. */
  couponsAmountCents: number;
  /** Credit-note balances consumed at finalization (activities/credits.ts). */
  creditNotesAmountCents: number;
  totalAmountCents: number;
  /** What wallets paid at finalization (total_amount_cents is after it). */
  prepaidCreditAmountCents: number;
  finalizedAt: string | null;
  createdAt: string;
  updatedAt: string;
  fees: FeeRecord[];
  taxes: StoredInvoiceTaxes;
}

export interface ListInvoicesFilter {
  externalCustomerId?: string;
  externalSubscriptionId?: string;
  status?: string;
  // Lago's further list filters (issue 13: GET /customers/:id/invoices and GET /invoices).
  paymentStatus?: string;
  paymentOverdue?: boolean;
  invoiceType?: string;
  currency?: string;
  /** Inclusive, YYYY-MM-DD. */
  issuingDateFrom?: string;
  issuingDateTo?: string;
  /** Inclusive bounds on total_amount_cents. */
  amountFrom?: number;
  amountTo?: number;
  /** Lago 1.51's billing_entity_codes[]: invoices issued by one of these entities (codes checked by the caller). */
  billingEntityCodes?: string[];
  /** Case-insensitive part of the number, the lago_id or the customer's external id / name / email. */
  searchTerm?: string;
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
  subscription_id: string | null;
  external_subscription_id: string | null;
  invoice_type: string;
  status: string;
  payment_status: string;
  number: string | null;
  billing_entity_code: string;
  period_start: Date;
  period_end: Date;
  issuing_date: string | null;
  currency: string;
  fees_amount_cents: number;
  taxes_amount_cents: number;
  total_amount_cents: number;
  prepaid_credit_amount_cents?: number | string;
  finalized_at: Date | null;
  created_at: Date;
  updated_at: Date;
  taxes_rate?: string;
  applied_taxes?: InvoiceAppliedTax[];
  tax_decision?: TaxDecision | null;
  coupons_amount_cents?: number;
  credit_notes_amount_cents?: number;
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
  adjusts_invoice_id: string | null;
  adjusts_period_start: Date | null;
  adjusts_period_end: Date | null;
  adjusts_fee_type: string | null;
  taxes_amount_cents?: number;
  taxes_precise_amount_cents?: string;
  taxes_rate?: string;
  applied_taxes?: FeeAppliedTax[];
  precise_coupons_amount_cents?: string;
  add_on_id?: string | null;
  description?: string | null;
  /** Joined: the code of fees.plan_id (subscription fees), migration 20261201002500. */
  plan_code?: string | null;
}

function iso(d: Date): string {
  return d.toISOString();
}

function toInvoiceStatus(s: string): InvoiceStatus {
  if (s === 'draft' || s === 'finalized' || s === 'deleted' || s === 'failed') return s;
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
    units: canonicalDecimal(r.units),
    eventsCount: r.events_count,
    unitAmount: canonicalDecimal(r.unit_amount),
    preciseAmount: canonicalDecimal(r.precise_amount),
    amountCents: r.amount_cents,
    currency: r.currency.trim(),
    prorationRatio: r.proration_ratio === null ? null : canonicalDecimal(r.proration_ratio),
    fromDatetime: iso(r.from_datetime),
    toDatetime: iso(r.to_datetime),
    adjustsInvoiceId: r.adjusts_invoice_id ?? null,
    adjustsPeriodStart: r.adjusts_period_start ? iso(r.adjusts_period_start) : null,
    adjustsPeriodEnd: r.adjusts_period_end ? iso(r.adjusts_period_end) : null,
    adjustsFeeType: r.adjusts_fee_type ?? null,
    taxes: {
      taxesAmountCents: r.taxes_amount_cents ?? 0,
      taxesPreciseAmountCents: canonicalDecimal(r.taxes_precise_amount_cents ?? '0'),
      taxesRate: canonicalDecimal(r.taxes_rate ?? '0'),
      appliedTaxes: r.applied_taxes ?? [],
    },
    preciseCouponsAmountCents: canonicalDecimal(r.precise_coupons_amount_cents ?? '0'),
    addOnId: r.add_on_id ?? null,
    description: r.description ?? null,
    planCode: r.plan_code ?? null,
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
    billingEntityCode: r.billing_entity_code,
    periodStart: iso(r.period_start),
    periodEnd: iso(r.period_end),
    issuingDate: r.issuing_date,
    currency: r.currency.trim(),
    feesAmountCents: r.fees_amount_cents,
    taxesAmountCents: r.taxes_amount_cents,
    couponsAmountCents: Number(r.coupons_amount_cents ?? 0),
    creditNotesAmountCents: Number(r.credit_notes_amount_cents ?? 0),
    totalAmountCents: r.total_amount_cents,
    prepaidCreditAmountCents: Number(r.prepaid_credit_amount_cents ?? 0),
    finalizedAt: r.finalized_at === null ? null : iso(r.finalized_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    fees,
    taxes: { taxesRate: canonicalDecimal(r.taxes_rate ?? '0'), appliedTaxes: r.applied_taxes ?? [], taxDecision: r.tax_decision ?? null },
  };
}

function invoiceQueryAnyStatus(db: Db, organizationId: string): Knex.QueryBuilder {
  return db('invoices as i')
    .join('customers as c', 'c.id', 'i.customer_id')
    .leftJoin('subscriptions as s', 's.id', 'i.subscription_id') // one-off invoices have none
    .where('i.organization_id', organizationId);
}

/** The organization's invoices as clients see them: a deleted draft (a tombstone) is in no list and no GET. */
function invoiceQuery(db: Db, organizationId: string): Knex.QueryBuilder {
  return invoiceQueryAnyStatus(db, organizationId).whereNot('i.status', 'deleted');
}

const INVOICE_COLUMNS = [
  'i.id', 'i.organization_id', 'i.customer_id', 'c.external_id as external_customer_id', 'i.subscription_id',
  's.external_id as external_subscription_id', 'i.invoice_type', 'i.status', 'i.payment_status', 'i.number',
  'i.billing_entity_code', 'i.period_start', 'i.period_end', 'i.currency', 'i.fees_amount_cents', 'i.taxes_amount_cents',
  'i.total_amount_cents', 'i.finalized_at', 'i.created_at', 'i.updated_at',
  'i.taxes_rate', 'i.applied_taxes', 'i.tax_decision', 'i.prepaid_credit_amount_cents', 'i.coupons_amount_cents', 'i.credit_notes_amount_cents',
];

function selectInvoiceColumns(db: Db, q: Knex.QueryBuilder): Knex.QueryBuilder {
  // DATE as text: node-pg would otherwise turn it into a JS Date at the process's local midnight.
  return q.select([...INVOICE_COLUMNS, db.raw(`to_char(i.issuing_date, 'YYYY-MM-DD') as issuing_date`)]);
}

async function loadFees(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, FeeRecord[]>> {
  const byInvoice = new Map<string, FeeRecord[]>();
  if (invoiceIds.length === 0) return byInvoice;
  const rows: FeeRow[] = await db('fees as f')
    .leftJoin('plans as fp', 'fp.id', 'f.plan_id')
    .where('f.organization_id', organizationId)
    .whereIn('f.invoice_id', invoiceIds)
    .orderBy([{ column: 'f.invoice_id' }, { column: 'f.position' }])
    .select('f.*', 'fp.code as plan_code');
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
  return invoiceById(db, invoiceQuery(db, organizationId), organizationId, invoiceId);
}

/** getInvoice, a deleted draft included: its DELETE answer and its invoice.deleted webhook show it as it was. */
export async function getInvoiceAnyStatus(db: Db, organizationId: string, invoiceId: string): Promise<InvoiceRecord | null> {
  return invoiceById(db, invoiceQueryAnyStatus(db, organizationId), organizationId, invoiceId);
}

async function invoiceById(db: Db, scoped: Knex.QueryBuilder, organizationId: string, invoiceId: string): Promise<InvoiceRecord | null> {
  // A malformed id is "not found", not a Postgres cast error.
  if (!UUID_RE.test(invoiceId)) return null;
  const row: InvoiceRow | undefined = await selectInvoiceColumns(db, scoped.where('i.id', invoiceId)).first();
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
    applyLagoInvoiceFilters(q, filter);
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

function applyLagoInvoiceFilters(q: Knex.QueryBuilder, f: ListInvoicesFilter): void {
  if (f.paymentStatus !== undefined) q.where('i.payment_status', f.paymentStatus);
  if (f.paymentOverdue !== undefined) q.where('i.payment_overdue', f.paymentOverdue);
  if (f.invoiceType !== undefined) q.where('i.invoice_type', f.invoiceType);
  if (f.currency !== undefined) q.where('i.currency', f.currency);
  if (f.billingEntityCodes !== undefined && f.billingEntityCodes.length > 0) q.whereIn('i.billing_entity_code', f.billingEntityCodes);
  if (f.issuingDateFrom !== undefined) q.where('i.issuing_date', '>=', f.issuingDateFrom);
  if (f.issuingDateTo !== undefined) q.where('i.issuing_date', '<=', f.issuingDateTo);
  if (f.amountFrom !== undefined) q.where('i.total_amount_cents', '>=', f.amountFrom);
  if (f.amountTo !== undefined) q.where('i.total_amount_cents', '<=', f.amountTo);
  if (f.searchTerm !== undefined && f.searchTerm !== '') {
    const like = `%${f.searchTerm.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    q.where((w) => w.whereILike('i.number', like).orWhereRaw('i.id::text ilike ?', [like]).orWhereILike('c.external_id', like).orWhereILike('c.name', like).orWhereILike('c.email', like));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Write side

export type PeriodInvoiceType = 'subscription' | 'termination' | 'progressive_billing';

export interface PeriodInvoiceKey {
  organizationId: string;
  subscriptionId: string;
  invoiceType: PeriodInvoiceType;
  /** [start, end): part of the unique key. */
  period: Period;
}

export interface ClaimPeriodInvoiceInput extends PeriodInvoiceKey {
  customerId: string;
  currency: string;
  /** The unclipped plan period (stored for refreshes: proration denominator). */
  fullPeriod: Period;
}

/** An invoice row locked (FOR UPDATE) by the current transaction. */
export interface LockedInvoice {
  id: string;
  organizationId: string;
  customerId: string;
  /** Null for one-off invoices. */
  subscriptionId: string | null;
  invoiceType: string;
  status: InvoiceStatus;
  currency: string;
  period: Period;
  /** Null for rows written without it (falls back to `period`). */
  fullPeriod: Period | null;
  number: string | null;
  issuingDate: string | null;
  totalAmountCents: number;
  /** True when this call inserted the row. */
  created: boolean;
}

interface RawInvoiceRow {
  id: string;
  organization_id: string;
  customer_id: string;
  subscription_id: string | null;
  invoice_type: string;
  status: string;
  currency: string;
  period_start: Date;
  period_end: Date;
  full_period_start: Date | null;
  full_period_end: Date | null;
  number: string | null;
  issuing_date: string | null;
  total_amount_cents: number;
}

const LOCK_COLUMNS = [
  'id', 'organization_id', 'customer_id', 'subscription_id', 'invoice_type', 'status', 'currency', 'period_start',
  'period_end', 'full_period_start', 'full_period_end', 'number', 'total_amount_cents',
];

function lockedFromRow(r: RawInvoiceRow, created: boolean): LockedInvoice {
  return {
    id: r.id,
    organizationId: r.organization_id,
    customerId: r.customer_id,
    subscriptionId: r.subscription_id,
    invoiceType: r.invoice_type,
    status: toInvoiceStatus(r.status),
    currency: r.currency.trim(),
    period: { start: iso(r.period_start), end: iso(r.period_end) },
    fullPeriod:
      r.full_period_start && r.full_period_end ? { start: iso(r.full_period_start), end: iso(r.full_period_end) } : null,
    number: r.number,
    issuingDate: r.issuing_date,
    totalAmountCents: r.total_amount_cents,
    created,
  };
}

function instant(isoString: string, field: string): Date {
  const d = new Date(isoString);
  if (Number.isNaN(d.getTime())) throw new BillingError('invalid_datetime', `Not an ISO datetime: ${isoString}`, field);
  return d;
}

function selectLocked(trx: Knex.Transaction): Knex.QueryBuilder {
  return trx('invoices').select([...LOCK_COLUMNS, trx.raw(`to_char(issuing_date, 'YYYY-MM-DD') as issuing_date`)]).forUpdate();
}

/**
 * Finds or creates the invoice of (subscription, period, type) and locks it for the rest of `trx`.
 * A new row is an empty draft (totals 0, no fees): the caller computes and writes its fees in the same
 * transaction (replaceDraftFees), so nobody ever commits a half-written invoice. Concurrent callers
 * serialize on the unique index and then on the row lock; exactly one of them sees `created: true`.
 */
export async function claimPeriodInvoice(trx: Knex.Transaction, input: ClaimPeriodInvoiceInput): Promise<LockedInvoice> {
  const periodStart = instant(input.period.start, 'period.start');
  const periodEnd = instant(input.period.end, 'period.end');
  const inserted: RawInvoiceRow[] = await trx('invoices')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      subscription_id: input.subscriptionId,
      invoice_type: input.invoiceType,
      status: 'draft',
      period_start: periodStart,
      period_end: periodEnd,
      full_period_start: instant(input.fullPeriod.start, 'full_period.start'),
      full_period_end: instant(input.fullPeriod.end, 'full_period.end'),
      currency: input.currency,
    })
    .onConflict(['subscription_id', 'period_start', 'period_end', 'invoice_type', 'source_key'])
    .ignore()
    .returning('id');
  const createdId = inserted[0]?.id;
  const row: RawInvoiceRow | undefined = await selectLocked(trx)
    .where({
      organization_id: input.organizationId,
      subscription_id: input.subscriptionId,
      invoice_type: input.invoiceType,
      period_start: periodStart,
      period_end: periodEnd,
      source_key: '', // period invoices (pay-in-advance per-event invoices carry their fee id here)
    })
    .first();
  if (!row) {
    // The key exists (the insert conflicted) but not in this organization: refuse rather than touch it.
    throw new BillingError('invoice_conflict', `An invoice for subscription ${input.subscriptionId} and this period exists elsewhere`);
  }
  return lockedFromRow(row, row.id === createdId);
}

/** Locks an invoice by id in `trx`; null when it does not exist in the organization. */
export async function lockInvoice(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<LockedInvoice | null> {
  if (!UUID_RE.test(invoiceId)) return null;
  const row: RawInvoiceRow | undefined = await selectLocked(trx).where({ organization_id: organizationId, id: invoiceId }).first();
  return row ? lockedFromRow(row, false) : null;
}

function feeRow(organizationId: string, invoiceId: string, fee: Fee, position: number): Record<string, unknown> {
  return {
    organization_id: organizationId,
    invoice_id: invoiceId,
    position,
    fee_type: fee.kind,
    charge_id: fee.chargeId !== null && UUID_RE.test(fee.chargeId) ? fee.chargeId : null,
    metric_code: fee.metricCode,
    display_name: fee.displayName,
    filter_index: fee.filterIndex,
    filter_values: fee.filterValues === null ? null : JSON.stringify(fee.filterValues),
    grouped_by: JSON.stringify(fee.groupedBy ?? {}),
    units: fee.units,
    events_count: fee.eventsCount,
    unit_amount: fee.unitAmount,
    precise_amount: fee.preciseAmount,
    amount_cents: fee.amountCents,
    currency: fee.currency,
    proration_ratio: fee.prorationRatio,
    from_datetime: instant(fee.fromDatetime, 'fee.from_datetime'),
    to_datetime: instant(fee.toDatetime, 'fee.to_datetime'),
    adjusts_invoice_id: fee.adjusts ? fee.adjusts.invoiceId : null,
    adjusts_period_start: fee.adjusts ? instant(fee.adjusts.period.start, 'fee.adjusts.period.start') : null,
    adjusts_period_end: fee.adjusts ? instant(fee.adjusts.period.end, 'fee.adjusts.period.end') : null,
    adjusts_fee_type: fee.adjusts ? fee.adjusts.feeKind : null,
    plan_id: fee.planId !== undefined && UUID_RE.test(fee.planId) ? fee.planId : null,
    ...taxColumns(fee),
    ...couponColumns(fee),
  };
}

/** A fee's coupon share and add-on columns (billing/coupons.ts, one-off invoices), when present. */
function couponColumns(fee: Fee & { preciseCouponsAmountCents?: string; addOnRecordId?: string; description?: string | null }): Record<string, unknown> {
  return {
    ...(fee.preciseCouponsAmountCents !== undefined ? { precise_coupons_amount_cents: fee.preciseCouponsAmountCents } : {}),
    ...(fee.addOnRecordId ? { add_on_id: fee.addOnRecordId } : {}),
    ...(fee.description !== undefined ? { description: fee.description } : {}),
  };
}

/** The invoice's coupon columns from a draft that went through the coupons step (0 / [] otherwise). */
function invoiceCouponColumns(draft: InvoiceDraft & { couponsAmountCents?: number; couponCredits?: unknown[] }): Record<string, unknown> {
  return { coupons_amount_cents: draft.couponsAmountCents ?? 0, coupon_credits: JSON.stringify(draft.couponCredits ?? []) };
}

/** A fee's tax columns (billing/tax: taxes_amount_cents, precise amount, summed rate, applied taxes), when taxed. */
function taxColumns(fee: Fee & { taxes?: FeeTaxes }): Record<string, unknown> {
  if (!fee.taxes) return {};
  return {
    taxes_amount_cents: fee.taxes.taxesAmountCents,
    taxes_precise_amount_cents: fee.taxes.taxesPreciseAmountCents,
    taxes_rate: fee.taxes.taxesRate,
    applied_taxes: JSON.stringify(fee.taxes.appliedTaxes),
  };
}

/** The invoice's tax columns from a taxed draft (billing/tax taxInvoiceDraft); an untaxed draft has none. */
function invoiceTaxColumns(draft: InvoiceDraft | TaxedInvoiceDraft): Record<string, unknown> {
  if (!('taxesAmountCents' in draft)) return { taxes_amount_cents: 0, taxes_rate: 0, applied_taxes: '[]', tax_decision: null };
  return {
    taxes_amount_cents: draft.taxesAmountCents,
    taxes_rate: draft.taxesRate,
    applied_taxes: JSON.stringify(draft.appliedTaxes),
    tax_decision: draft.taxDecision === null ? null : JSON.stringify(draft.taxDecision),
  };
}

/**
 * Replaces a locked DRAFT invoice's fees and totals with `draft` (the refresh of a draft). Refuses a finalized
 * invoice (BillingError 'invoice_finalized'): a finalized invoice is immutable.
 */
export async function replaceDraftFees(trx: Knex.Transaction, invoice: LockedInvoice, draft: InvoiceDraft | TaxedInvoiceDraft): Promise<LockedInvoice> {
  if (invoice.status !== 'draft') {
    throw new BillingError('invoice_finalized', `Invoice ${invoice.id} is ${invoice.status}; its fees cannot change`);
  }
  await trx('fees').where({ organization_id: invoice.organizationId, invoice_id: invoice.id }).delete();
  const rows = draft.fees.map((f, i) => feeRow(invoice.organizationId, invoice.id, f, i + 1));
  // Chunked so a plan with many filter/group lines stays under Postgres' bind-parameter limit.
  for (let i = 0; i < rows.length; i += 1000) await trx('fees').insert(rows.slice(i, i + 1000));
  const updated: RawInvoiceRow[] = await trx('invoices')
    .where({ organization_id: invoice.organizationId, id: invoice.id, status: 'draft' })
    .update({
      currency: draft.currency,
      fees_amount_cents: draft.feesAmountCents,
      ...invoiceTaxColumns(draft),
      ...invoiceCouponColumns(draft),
      total_amount_cents: draft.totalAmountCents,
      updated_at: trx.fn.now(),
    })
    .returning([...LOCK_COLUMNS, trx.raw(`to_char(issuing_date, 'YYYY-MM-DD') as issuing_date`)]);
  const row = updated[0];
  if (!row) throw new Error(`Invoice ${invoice.id} vanished while locked`);
  return lockedFromRow(row, invoice.created);
}

/** Number format: see the header and db/repositories/invoice-numbering.ts. */
export { formatInvoiceNumber };

/**
 * Draft → finalized, in one transaction: locks the invoice; when it is a draft, takes the organization's next
 * invoice number (the sequence row update is part of the same transaction, so an aborted finalization
 * leaves no gap, and concurrent finalizations of one organization serialize on that row), sets the issuing
 * date (the finalization instant's date in the customer's timezone, else the organization's), status and
 * finalized_at. Idempotent: a finalized invoice is returned as it is. Throws BillingError 'invoice_not_found'.
 */
export async function finalizeInvoice(
  db: Knex,
  organizationId: string,
  invoiceId: string,
  opts: { now?: Date } = {},
): Promise<LockedInvoice & { finalizedNow: boolean }> {
  return db.transaction(async (trx) => {
    const invoice = await lockInvoice(trx, organizationId, invoiceId);
    if (!invoice) throw new BillingError('invoice_not_found', `Invoice ${invoiceId} not found`, 'invoice_id');
    return finalizeLockedInvoice(trx, invoice, opts);
  });
}

/**
 * finalizeInvoice's body for an invoice the caller locked in `trx` (lockInvoice / claimPeriodInvoice), so the
 * caller can rewrite the draft's fees in the same transaction right before the numbering. A finalized invoice
 * is returned as it is.
 */
export async function finalizeLockedInvoice(
  trx: Knex.Transaction,
  invoice: LockedInvoice,
  opts: { now?: Date } = {},
): Promise<LockedInvoice & { finalizedNow: boolean }> {
  const { organizationId, id: invoiceId } = invoice;
  // Finalized already, or deleted (a tombstone is never numbered): returned as it is.
  if (invoice.status !== 'draft') return { ...invoice, finalizedNow: false };

  // The issuing entity (the invoice's billing_entity_code): its timezone after the customer's, its numbering.
  const ctx = await issuerContext(trx, organizationId, invoiceId);
  const zone = ctx.customer_tz || ctx.entity_tz || 'UTC';
  const now = opts.now ?? new Date();
  const local = DateTime.fromJSDate(now, { zone });
  if (!local.isValid) throw new BillingError('invalid_timezone', `Unknown IANA timezone: ${zone}`, 'timezone');
  const issuingDate = local.toFormat('yyyy-MM-dd');

  // Prepaid credits (wallets), the last step before numbering (db/repositories/wallet-consumption.ts); their
  // wallet locks are taken before the organization's sequence row, so that lock stays one statement long.
  await applyPrepaidCredits(trx, organizationId, invoiceId, now);
  // invoice.created commits with the finalization (rendered by the delivery with api/serializers/invoice.ts).
  await enqueueWebhook(trx, { organizationId, webhookType: 'invoice.created', objectType: 'invoice', objectId: invoiceId, uniqueKey: `invoice.created:${invoiceId}` });
  // The entity's sequence row (invoice-numbering.ts) stays locked from its increment to COMMIT, and every
  // finalization numbered from it waits for it: increment and invoice update are therefore ONE statement, the last
  // one of the transaction (the lock is held for one round trip + the commit; with 10,000 invoices finalized at the
  // month start this is the serial part).
  const numbering = invoiceNumbering(ctx, organizationId, invoice.customerId, issuingDate);
  const updated = ((await trx.raw(
    `WITH seq AS (${numbering.seqSql})
     UPDATE invoices SET status = 'finalized', number = ? || lpad(seq.last_number::text, greatest(${numbering.width}, length(seq.last_number::text)), '0'),
            issuing_date = ?, finalized_at = ?, updated_at = ?
     FROM seq
     WHERE invoices.organization_id = ? AND invoices.id = ? AND invoices.status = 'draft'
     RETURNING ${LOCK_COLUMNS.map((c) => `invoices.${c}`).join(', ')}, to_char(invoices.issuing_date, 'YYYY-MM-DD') AS issuing_date`,
    [...numbering.seqBindings, numbering.prefix, issuingDate, now, now, organizationId, invoiceId],
  )) as { rows: RawInvoiceRow[] }).rows;
  const row = updated[0];
  if (!row) throw new Error(`Invoice ${invoiceId} vanished while locked`);
  return { ...lockedFromRow(row, false), finalizedNow: true };
}

// ---------------------------------------------------------------------------------------------------------
// Late events

/** A draft invoice's period, as the API's late-event notifier matches event timestamps against it. */
export interface DraftInvoicePeriod {
  invoiceId: string;
  invoiceType: string;
  period: Period;
}

/** The DRAFT invoices of a subscription (any type) with their periods, oldest first. */
export async function draftInvoicePeriods(db: Db, organizationId: string, subscriptionId: string): Promise<DraftInvoicePeriod[]> {
  if (!UUID_RE.test(subscriptionId)) return [];
  const rows: { id: string; invoice_type: string; period_start: Date; period_end: Date }[] = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, status: 'draft' })
    .orderBy('period_start')
    .select('id', 'invoice_type', 'period_start', 'period_end');
  return rows.map((r) => ({ invoiceId: r.id, invoiceType: r.invoice_type, period: { start: iso(r.period_start), end: iso(r.period_end) } }));
}

/**
 * draftInvoicePeriods for many subscriptions in ONE query, for callers that know subscription ids but not
 * their organization (the usage signaller). Scoped through the subscription row: an invoice counts only when
 * it belongs to the subscription's own organization. Every requested subscription that exists has an entry.
 */
export async function draftInvoicePeriodsOfSubscriptions(
  db: Db,
  subscriptionIds: string[],
): Promise<Map<string, { organizationId: string; drafts: DraftInvoicePeriod[] }>> {
  const out = new Map<string, { organizationId: string; drafts: DraftInvoicePeriod[] }>();
  const ids = [...new Set(subscriptionIds)].filter((id) => UUID_RE.test(id));
  if (ids.length === 0) return out;
  const rows: {
    subscription_id: string;
    organization_id: string;
    id: string | null;
    invoice_type: string | null;
    period_start: Date | null;
    period_end: Date | null;
  }[] = await db('subscriptions as s')
    .leftJoin('invoices as i', function join() {
      this.on('i.subscription_id', '=', 's.id').andOn('i.organization_id', '=', 's.organization_id').andOnVal('i.status', '=', 'draft');
    })
    .whereIn('s.id', ids)
    .orderBy([{ column: 's.id' }, { column: 'i.period_start' }])
    .select('s.id as subscription_id', 's.organization_id', 'i.id', 'i.invoice_type', 'i.period_start', 'i.period_end');
  for (const r of rows) {
    let entry = out.get(r.subscription_id);
    if (!entry) {
      entry = { organizationId: r.organization_id, drafts: [] };
      out.set(r.subscription_id, entry);
    }
    if (r.id && r.invoice_type && r.period_start && r.period_end) {
      entry.drafts.push({ invoiceId: r.id, invoiceType: r.invoice_type, period: { start: iso(r.period_start), end: iso(r.period_end) } });
    }
  }
  return out;
}

/**
 * The subscription's FINALIZED invoices of the given types whose period starts before `before`, newest first,
 * at most `limit` of them (the adjustment look-back).
 */
export async function finalizedInvoicesBefore(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  opts: { before: string; invoiceTypes: PeriodInvoiceType[]; limit: number },
): Promise<LockedInvoice[]> {
  const rows: RawInvoiceRow[] = await db('invoices')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, status: 'finalized' })
    .whereIn('invoice_type', opts.invoiceTypes)
    .where('period_start', '<', instant(opts.before, 'before'))
    .orderBy([{ column: 'period_start', order: 'desc' }, { column: 'period_end', order: 'desc' }])
    .limit(opts.limit)
    .select([...LOCK_COLUMNS, db.raw(`to_char(issuing_date, 'YYYY-MM-DD') as issuing_date`)]);
  return rows.map((r) => lockedFromRow(r, false));
}

const ADJUSTABLE_FEE_TYPES: readonly string[] = ['charge', 'charge_minimum', 'minimum_commitment'];

function billingFee(r: FeeRecord): Fee {
  const fee: Fee = {
    kind: r.feeType as FeeKind,
    chargeId: r.chargeId,
    metricCode: r.metricCode,
    filterIndex: r.filterIndex,
    filterValues: r.filterValues,
    groupedBy: r.groupedBy,
    displayName: r.displayName,
    units: r.units,
    eventsCount: r.eventsCount,
    unitAmount: r.unitAmount,
    preciseAmount: r.preciseAmount,
    amountCents: r.amountCents,
    currency: r.currency,
    fromDatetime: r.fromDatetime,
    toDatetime: r.toDatetime,
    prorationRatio: r.prorationRatio,
  };
  if (r.adjustsInvoiceId !== null) {
    if (r.adjustsPeriodStart === null || r.adjustsPeriodEnd === null || !ADJUSTABLE_FEE_TYPES.includes(r.adjustsFeeType ?? '')) {
      throw new Error(`Adjustment fee ${r.id} is incomplete in the database`);
    }
    fee.adjusts = {
      invoiceId: r.adjustsInvoiceId,
      period: { start: r.adjustsPeriodStart, end: r.adjustsPeriodEnd },
      feeKind: r.adjustsFeeType as AdjustableFeeKind,
    };
  }
  return fee;
}

/**
 * What has been billed so far for each given invoice's period, as billing/ fees: the invoice's own
 * usage-related lines (charge, charge_minimum, minimum_commitment) plus the `adjustment` fees for it on
 * FINALIZED invoices (an adjustment on a draft is not billed yet: the draft is re-rated before it is).
 */
export async function billedFeesOfInvoices(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, Fee[]>> {
  const out = new Map<string, Fee[]>(invoiceIds.map((id) => [id, []]));
  if (invoiceIds.length === 0) return out;
  const own: FeeRow[] = await db('fees')
    .where('organization_id', organizationId)
    .whereIn('invoice_id', invoiceIds)
    .whereIn('fee_type', ADJUSTABLE_FEE_TYPES as string[])
    .orderBy([{ column: 'invoice_id' }, { column: 'position' }]);
  const adjustments: FeeRow[] = await db('fees as f')
    .join('invoices as i', function join() {
      this.on('i.id', '=', 'f.invoice_id').andOn('i.organization_id', '=', 'f.organization_id');
    })
    .where('f.organization_id', organizationId)
    .whereIn('f.adjusts_invoice_id', invoiceIds)
    .where('f.fee_type', 'adjustment')
    .where('i.status', 'finalized')
    .orderBy([{ column: 'f.invoice_id' }, { column: 'f.position' }])
    .select('f.*');
  for (const r of own) out.get(r.invoice_id)!.push(billingFee(feeFromRow(r)));
  for (const r of adjustments) out.get(r.adjusts_invoice_id!)!.push(billingFee(feeFromRow(r)));
  return out;
}

/**
 * Serializes the computation of a subscription's adjustments: two invoices of one subscription finalized at
 * the same time (a period invoice still in grace and a termination invoice) would otherwise both bill the same
 * late usage. FOR NO KEY UPDATE: does not block inserts of rows referencing the subscription (FK checks).
 * Lock order everywhere: the invoice row first, then the subscription row.
 */
export async function lockSubscriptionForAdjustments(trx: Knex.Transaction, organizationId: string, subscriptionId: string): Promise<void> {
  await trx('subscriptions').where({ organization_id: organizationId, id: subscriptionId }).forNoKeyUpdate().first('id');
}
