// Reads and writes behind Lago's customer-and-money operations (issue 13, ops13a): payments and their receipts,
// payment requests of overdue invoices, the soft deletion of a fee on no invoice, and a customer's wallet by code.
// Every query is scoped by organization_id. Money stays integer cents; nothing here computes an amount except
// the sum of the invoices' due amounts a payment request asks for (summed by Postgres as bigint).
import type { Knex } from 'knex';
import { toPayment, type PaymentRecord } from './payments';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID_RE.test(v);


// ---- payments -----------------------------------------------------------------------------------------------

/** A payment with what Lago's PaymentObject shows of its invoice and customer. */
export interface PaymentView extends PaymentRecord {
  customerId: string;
  externalCustomerId: string;
  providerCustomerId: string | null;
  invoiceNumber: string | null;
}

function paymentViews(db: Db, organizationId: string) {
  return db('payments as p')
    .join('invoices as i', 'i.id', 'p.invoice_id')
    .join('customers as c', 'c.id', 'i.customer_id')
    .where('p.organization_id', organizationId)
    .andWhere('i.organization_id', organizationId);
}

const VIEW_COLUMNS = ['p.*', 'c.id as v_customer_id', 'c.external_id as v_external_customer_id', 'c.provider_customer_id as v_provider_customer_id', 'i.number as v_invoice_number'];

function toView(row: Record<string, any>): PaymentView {
  return {
    ...toPayment(row),
    customerId: row.v_customer_id,
    externalCustomerId: row.v_external_customer_id,
    providerCustomerId: row.v_provider_customer_id ?? null,
    invoiceNumber: row.v_invoice_number ?? null,
  };
}

export interface PaymentListFilter {
  customerId?: string;
  invoiceId?: string;
  page: number;
  perPage: number;
}

/** A page of the organization's payments (manual and provider attempts), newest first. */
export async function listPaymentViews(db: Db, organizationId: string, f: PaymentListFilter): Promise<{ payments: PaymentView[]; totalCount: number }> {
  const scoped = () => {
    const q = paymentViews(db, organizationId);
    if (f.customerId !== undefined) q.where('i.customer_id', f.customerId);
    if (f.invoiceId !== undefined) q.where('p.invoice_id', f.invoiceId);
    return q;
  };
  const [{ count }] = await scoped().count<{ count: string }[]>({ count: '*' });
  const rows = await scoped()
    .select(VIEW_COLUMNS)
    .orderBy([{ column: 'p.created_at', order: 'desc' }, { column: 'p.id', order: 'desc' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage);
  return { payments: rows.map(toView), totalCount: Number(count) };
}

export async function getPaymentView(db: Db, organizationId: string, paymentId: string): Promise<PaymentView | null> {
  if (!isUuid(paymentId)) return null;
  const row = await paymentViews(db, organizationId).andWhere('p.id', paymentId).first(VIEW_COLUMNS);
  return row ? toView(row) : null;
}

// ---- payment receipts ---------------------------------------------------------------------------------------

export interface PaymentReceiptView {
  id: string;
  number: string;
  createdAt: Date;
  payment: PaymentView;
}

function receiptViews(db: Db, organizationId: string) {
  return paymentViews(db, organizationId).join('payment_receipts as r', 'r.payment_id', 'p.id').andWhere('r.organization_id', organizationId);
}

const RECEIPT_COLUMNS = [...VIEW_COLUMNS, 'r.id as r_id', 'r.number as r_number', 'r.created_at as r_created_at'];

function toReceipt(row: Record<string, any>): PaymentReceiptView {
  return { id: row.r_id, number: row.r_number, createdAt: row.r_created_at, payment: toView(row) };
}

/** A page of receipts (one per succeeded payment, written by the payments trigger), newest first. */
export async function listPaymentReceipts(db: Db, organizationId: string, f: { invoiceId?: string; page: number; perPage: number }): Promise<{ receipts: PaymentReceiptView[]; totalCount: number }> {
  const scoped = () => {
    const q = receiptViews(db, organizationId);
    if (f.invoiceId !== undefined) q.where('p.invoice_id', f.invoiceId);
    return q;
  };
  const [{ count }] = await scoped().count<{ count: string }[]>({ count: '*' });
  const rows = await scoped()
    .select(RECEIPT_COLUMNS)
    .orderBy([{ column: 'r.created_at', order: 'desc' }, { column: 'r.id', order: 'desc' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage);
  return { receipts: rows.map(toReceipt), totalCount: Number(count) };
}

export async function getPaymentReceipt(db: Db, organizationId: string, receiptId: string): Promise<PaymentReceiptView | null> {
  if (!isUuid(receiptId)) return null;
  const row = await receiptViews(db, organizationId).andWhere('r.id', receiptId).first(RECEIPT_COLUMNS);
  return row ? toReceipt(row) : null;
}

// ---- fees on no invoice: soft deletion ----------------------------------------------------------------------

/**
 * Lago's Fees::DestroyService: a fee on no invoice is deleted (deleted_at; the row stays, so its event is never
 * billed again); an invoiced fee is refused. Under the fee's row lock; a deleted fee is not found again.
 */
export async function softDeleteUninvoicedFee(db: Knex, organizationId: string, feeId: string, now: Date): Promise<'not_found' | 'invoiced' | 'deleted'> {
  if (!isUuid(feeId)) return 'not_found';
  return db.transaction(async (trx) => {
    if (await trx('fees').where({ organization_id: organizationId, id: feeId }).first('id')) return 'invoiced';
    const row: { invoice_id: string | null; regrouped_invoice_id: string | null } | undefined = await trx('pay_in_advance_fees')
      .where({ organization_id: organizationId, id: feeId })
      .whereNull('deleted_at')
      .forUpdate()
      .first('invoice_id', 'regrouped_invoice_id');
    if (!row) return 'not_found';
    if (row.invoice_id !== null || row.regrouped_invoice_id !== null) return 'invoiced';
    await trx('pay_in_advance_fees').where({ organization_id: organizationId, id: feeId }).update({ deleted_at: now, updated_at: now });
    return 'deleted';
  });
}

// ---- payment requests ---------------------------------------------------------------------------------------

export interface PaymentRequestInvoice {
  id: string;
  number: string | null;
  issuingDate: string | null;
  invoiceType: string;
  status: string;
  paymentStatus: string;
  paymentOverdue: boolean;
  currency: string;
  totalAmountCents: number;
  totalDueAmountCents: number;
  createdAt: Date;
}

export interface PaymentRequestRecord {
  id: string;
  customerId: string;
  email: string;
  amountCents: number;
  currency: string;
  createdAt: Date;
  invoices: PaymentRequestInvoice[];
}

const INVOICE_COLUMNS = [
  'i.id', 'i.number', 'i.invoice_type', 'i.status', 'i.payment_status', 'i.payment_overdue', 'i.currency', 'i.total_amount_cents', 'i.created_at', 'i.voided_at',
];
const invoiceColumns = (db: Db) => [
  ...INVOICE_COLUMNS,
  db.raw(`to_char(i.issuing_date, 'YYYY-MM-DD') as issuing_date`),
  db.raw('greatest(i.total_amount_cents - i.total_paid_amount_cents, 0)::bigint as total_due_amount_cents'), // as getCollectionContext
];

function toRequestInvoice(row: Record<string, any>): PaymentRequestInvoice {
  return {
    id: row.id,
    number: row.number ?? null,
    issuingDate: row.issuing_date ?? null,
    invoiceType: row.invoice_type,
    status: row.voided_at ? 'voided' : row.status,
    paymentStatus: row.payment_status,
    paymentOverdue: Boolean(row.payment_overdue),
    currency: String(row.currency).trim(),
    totalAmountCents: minorUnits(row.total_amount_cents, 'total_amount_cents'),
    totalDueAmountCents: minorUnits(row.total_due_amount_cents, 'total_due_amount_cents'),
    createdAt: row.created_at,
  };
}

/** The invoices, locked FOR UPDATE, of the customer among `ids` (others' and unknown ids are left out). */
export async function lockInvoicesOfCustomer(trx: Knex.Transaction, organizationId: string, customerId: string, ids: string[]): Promise<PaymentRequestInvoice[]> {
  const wanted = [...new Set(ids)].filter(isUuid);
  if (wanted.length === 0) return [];
  const rows = await trx('invoices as i')
    .where({ 'i.organization_id': organizationId, 'i.customer_id': customerId })
    .whereIn('i.id', wanted)
    .forUpdate()
    .select(invoiceColumns(trx));
  return rows.map(toRequestInvoice);
}

/**
 * Writes a payment request of `invoices` (already validated by the caller, under their locks). The same set of
 * invoices requested again while they are unpaid answers the first request (unique request_key): a retried POST
 * writes once. Returns whether this call created it.
 */
export async function insertPaymentRequest(
  trx: Knex.Transaction,
  input: { organizationId: string; customerId: string; email: string; currency: string; invoices: PaymentRequestInvoice[] },
): Promise<{ id: string; created: boolean }> {
  const ids = input.invoices.map((i) => i.id).sort();
  const requestKey = ids.join(',');
  // The amount asked for: the invoices' due amounts, summed by Postgres (bigint), never in JS numbers.
  const [{ due }] = await trx('invoices')
    .where({ organization_id: input.organizationId })
    .whereIn('id', ids)
    .select(trx.raw('coalesce(sum(greatest(total_amount_cents - total_paid_amount_cents, 0)), 0)::bigint as due'));
  const amount = minorUnits(due, 'amount_cents');
  const inserted: { id: string }[] = await trx('payment_requests')
    .insert({ organization_id: input.organizationId, customer_id: input.customerId, email: input.email, amount_cents: amount, currency: input.currency, request_key: requestKey })
    .onConflict(['organization_id', 'request_key'])
    .ignore()
    .returning('id');
  if (inserted.length > 0) {
    await trx('payment_request_invoices').insert(ids.map((invoiceId) => ({ organization_id: input.organizationId, payment_request_id: inserted[0]!.id, invoice_id: invoiceId })));
    return { id: inserted[0]!.id, created: true };
  }
  const existing = await trx('payment_requests').where({ organization_id: input.organizationId, request_key: requestKey }).first('id');
  return { id: existing.id, created: false };
}

async function withInvoices(db: Db, organizationId: string, rows: Record<string, any>[]): Promise<PaymentRequestRecord[]> {
  if (rows.length === 0) return [];
  const links = await db('payment_request_invoices as l')
    .join('invoices as i', 'i.id', 'l.invoice_id')
    .where('l.organization_id', organizationId)
    .whereIn('l.payment_request_id', rows.map((r) => r.id))
    .orderBy([{ column: 'i.created_at', order: 'asc' }, { column: 'i.id', order: 'asc' }])
    .select(['l.payment_request_id', ...invoiceColumns(db)]);
  const byRequest = new Map<string, PaymentRequestInvoice[]>();
  for (const l of links) byRequest.set(l.payment_request_id, [...(byRequest.get(l.payment_request_id) ?? []), toRequestInvoice(l)]);
  return rows.map((r) => ({
    id: r.id,
    customerId: r.customer_id,
    email: r.email,
    amountCents: minorUnits(r.amount_cents, 'amount_cents'),
    currency: String(r.currency).trim(),
    createdAt: r.created_at,
    invoices: byRequest.get(r.id) ?? [],
  }));
}

export async function getPaymentRequest(db: Db, organizationId: string, id: string): Promise<PaymentRequestRecord | null> {
  if (!isUuid(id)) return null;
  const row = await db('payment_requests').where({ organization_id: organizationId, id }).first();
  return row ? (await withInvoices(db, organizationId, [row]))[0]! : null;
}

/**
 * The payment status of a request, derived from its invoices (Postgres is the truth: a payment of any path
 * updates the invoices): succeeded when every invoice is paid (or voided), failed when one has a failed payment,
 * else pending.
 */
export function paymentRequestStatus(invoices: PaymentRequestInvoice[]): 'pending' | 'succeeded' | 'failed' {
  if (invoices.length > 0 && invoices.every((i) => i.paymentStatus === 'succeeded' || i.status === 'voided')) return 'succeeded';
  if (invoices.some((i) => i.paymentStatus === 'failed')) return 'failed';
  return 'pending';
}

const STATUS_SQL: Record<'pending' | 'succeeded' | 'failed', string> = {
  // The same rule as paymentRequestStatus, as SQL over the request's invoices (for the payment_status filter).
  succeeded: `NOT EXISTS (SELECT 1 FROM payment_request_invoices l JOIN invoices i ON i.id = l.invoice_id WHERE l.payment_request_id = r.id AND i.payment_status <> 'succeeded' AND i.voided_at IS NULL)`,
  failed: `NOT (NOT EXISTS (SELECT 1 FROM payment_request_invoices l JOIN invoices i ON i.id = l.invoice_id WHERE l.payment_request_id = r.id AND i.payment_status <> 'succeeded' AND i.voided_at IS NULL))
    AND EXISTS (SELECT 1 FROM payment_request_invoices l JOIN invoices i ON i.id = l.invoice_id WHERE l.payment_request_id = r.id AND i.payment_status = 'failed')`,
  pending: `EXISTS (SELECT 1 FROM payment_request_invoices l JOIN invoices i ON i.id = l.invoice_id WHERE l.payment_request_id = r.id AND i.payment_status <> 'succeeded' AND i.voided_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM payment_request_invoices l JOIN invoices i ON i.id = l.invoice_id WHERE l.payment_request_id = r.id AND i.payment_status = 'failed')`,
};

export async function listPaymentRequests(
  db: Db,
  organizationId: string,
  f: { customerId?: string; currency?: string; paymentStatus?: 'pending' | 'succeeded' | 'failed'; page: number; perPage: number },
): Promise<{ requests: PaymentRequestRecord[]; totalCount: number }> {
  const scoped = () => {
    const q = db('payment_requests as r').where('r.organization_id', organizationId);
    if (f.customerId !== undefined) q.where('r.customer_id', f.customerId);
    if (f.currency !== undefined) q.where('r.currency', f.currency);
    if (f.paymentStatus !== undefined) q.whereRaw(STATUS_SQL[f.paymentStatus]);
    return q;
  };
  const [{ count }] = await scoped().count<{ count: string }[]>({ count: '*' });
  const rows = await scoped()
    .select('r.*')
    .orderBy([{ column: 'r.created_at', order: 'desc' }, { column: 'r.id', order: 'desc' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage);
  return { requests: await withInvoices(db, organizationId, rows), totalCount: Number(count) };
}

// ---- wallets by code ----------------------------------------------------------------------------------------

/**
 * The id of the customer's wallet with this code: the active one (codes are unique among active wallets), else
 * the most recently terminated one; null when none has it.
 */
export async function walletIdByCode(db: Db, organizationId: string, customerId: string, code: string): Promise<string | null> {
  const row = await db('wallets')
    .where({ organization_id: organizationId, customer_id: customerId, code })
    .orderByRaw(`(status = 'active') DESC, created_at DESC, id DESC`)
    .first('id');
  return row?.id ?? null;
}
