// Lago's everyday reads that page through the ledger: GET /events (stored events, newest first) and GET /fees (the
// fees of invoices and the fees on no invoice, newest first). Every query is scoped by organization_id; filters are the Lago query parameters.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import type { StoredEvent } from './event-errors';
import { uninvoicedFeesQuery } from './uninvoiced-fees';

type Db = Knex | Knex.Transaction;

export interface EventListFilter {
  externalSubscriptionId?: string;
  code?: string;
  /** ISO UTC, inclusive. */
  timestampFrom?: string;
  /** ISO UTC, inclusive. */
  timestampTo?: string;
  page: number;
  perPage: number;
}

export async function listEventsPage(db: Db, organizationId: string, f: EventListFilter): Promise<{ events: StoredEvent[]; totalCount: number }> {
  const base = db('events as e').where('e.organization_id', organizationId);
  if (f.externalSubscriptionId !== undefined) base.andWhere('e.external_subscription_id', f.externalSubscriptionId);
  if (f.code !== undefined) base.andWhere('e.code', f.code);
  if (f.timestampFrom !== undefined) base.andWhere('e.timestamp', '>=', f.timestampFrom);
  if (f.timestampTo !== undefined) base.andWhere('e.timestamp', '<=', f.timestampTo);
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows = await base
    .clone()
    .leftJoin('subscriptions as s', 's.id', 'e.subscription_id')
    .orderBy([{ column: 'e.timestamp', order: 'desc' }, { column: 'e.id', order: 'desc' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage)
    .select(
      'e.lago_id', 'e.transaction_id', 'e.external_subscription_id', 'e.subscription_id', 's.customer_id', 'e.code', 'e.timestamp',
      'e.properties', db.raw('e.precise_total_amount::text as precise_total_amount'), 'e.created_at',
    );
  return {
    totalCount: Number(count),
    events: rows.map((r: Record<string, any>) => ({
      id: String(r.lago_id),
      transactionId: r.transaction_id,
      externalSubscriptionId: r.external_subscription_id,
      subscriptionId: r.subscription_id ?? null,
      customerId: r.customer_id ?? null,
      code: r.code,
      timestamp: r.timestamp,
      properties: r.properties ?? {},
      preciseTotalAmount: r.precise_total_amount === null ? null : canonicalDecimal(r.precise_total_amount),
      createdAt: r.created_at,
    })),
  };
}

/** The subscription start of a subscription by external id (GET /events `timestamp_from_started_at`). */
export async function subscriptionStartedAt(db: Db, organizationId: string, externalSubscriptionId: string): Promise<Date | null> {
  const row = await db('subscriptions').where({ organization_id: organizationId, external_id: externalSubscriptionId }).first('started_at', 'subscription_at');
  return row ? (row.started_at ?? row.subscription_at) : null;
}

/** Lago fee_type → the stored fee types it covers. */
const FEE_TYPES: Record<string, string[]> = {
  charge: ['charge', 'charge_minimum', 'adjustment'],
  subscription: ['subscription'],
  commitment: ['minimum_commitment'],
  // Lago's `credit` fees: paid wallet credits (top-up invoices); the progressive-billing credit line is shown as one.
  credit: ['progressive_billing_credit', 'credit'],
  add_on: ['add_on'],
};

export interface FeeListFilter {
  externalCustomerId?: string;
  externalSubscriptionId?: string;
  currency?: string;
  feeType?: string;
  billableMetricCode?: string;
  /** pending | succeeded | failed | refunded: an invoiced fee's is its invoice's; an uninvoiced fee has its own. */
  paymentStatus?: string;
  /** The event a pay-in-advance fee bills (uninvoiced fees, and the fee of an event's own invoice). */
  eventTransactionId?: string;
  createdAtFrom?: string;
  createdAtTo?: string;
  page: number;
  perPage: number;
}

export interface FeeRef {
  feeId: string;
  /** null: a fee on no invoice (db/repositories/uninvoiced-fees.ts). */
  invoiceId: string | null;
}

/** The invoices' fees matching `f` (fees of invoices without subscription, one-off and top-up, included). */
function invoicedFeesQuery(db: Db, organizationId: string, f: FeeListFilter) {
  const base = db('fees as f')
    .join('invoices as i', 'i.id', 'f.invoice_id')
    .join('customers as c', 'c.id', 'i.customer_id')
    .leftJoin('subscriptions as s', 's.id', 'i.subscription_id')
    .where('f.organization_id', organizationId)
    .andWhere('i.organization_id', organizationId)
    .whereNot('i.status', 'deleted'); // del13: a deleted draft's fees are in no list
  if (f.externalCustomerId !== undefined) base.andWhere('c.external_id', f.externalCustomerId);
  if (f.externalSubscriptionId !== undefined) base.andWhere('s.external_id', f.externalSubscriptionId);
  if (f.currency !== undefined) base.andWhere('f.currency', f.currency);
  if (f.feeType !== undefined) base.whereIn('f.fee_type', FEE_TYPES[f.feeType] ?? []);
  if (f.billableMetricCode !== undefined) base.andWhere('f.metric_code', f.billableMetricCode);
  if (f.paymentStatus !== undefined) {
    if (f.paymentStatus === 'pending') base.whereNotIn('i.payment_status', ['succeeded', 'failed']);
    else base.andWhere('i.payment_status', f.paymentStatus);
  }
  if (f.eventTransactionId !== undefined) {
    const txId = f.eventTransactionId;
    base.whereExists(function eventInvoice() {
      void this.from('pay_in_advance_fees as p').where('p.organization_id', organizationId).whereRaw('p.invoice_id = f.invoice_id').andWhere('p.transaction_id', txId);
    });
  }
  if (f.createdAtFrom !== undefined) base.andWhere('i.created_at', '>=', f.createdAtFrom);
  if (f.createdAtTo !== undefined) base.andWhere('i.created_at', '<=', f.createdAtTo);
  return base;
}

/** The fees on no invoice matching `f` (pay-in-advance charges' fees with invoiceable false: charge fees). */
function uninvoicedFeesMatching(db: Db, organizationId: string, f: FeeListFilter) {
  const base = uninvoicedFeesQuery(db, organizationId);
  if (f.externalCustomerId !== undefined) base.andWhere('c.external_id', f.externalCustomerId);
  if (f.externalSubscriptionId !== undefined) base.andWhere('s.external_id', f.externalSubscriptionId);
  if (f.currency !== undefined) base.andWhere('p.currency', f.currency);
  if (f.feeType !== undefined && f.feeType !== 'charge') base.whereRaw('false');
  if (f.billableMetricCode !== undefined) base.andWhere('p.metric_code', f.billableMetricCode);
  if (f.paymentStatus !== undefined) base.andWhere('p.payment_status', f.paymentStatus);
  if (f.eventTransactionId !== undefined) base.andWhere('p.transaction_id', f.eventTransactionId);
  if (f.createdAtFrom !== undefined) base.andWhere('p.created_at', '>=', f.createdAtFrom);
  if (f.createdAtTo !== undefined) base.andWhere('p.created_at', '<=', f.createdAtTo);
  return base;
}

/**
 * A page of fees, newest first: the invoices' fees (by invoice creation, then position) and the fees on no invoice
 * (by their creation), merged in one order. Which fee, on which invoice (null: none).
 */
export async function listFeeRefsPage(db: Db, organizationId: string, f: FeeListFilter): Promise<{ fees: FeeRef[]; totalCount: number }> {
  const invoiced = invoicedFeesQuery(db, organizationId, f);
  const uninvoiced = uninvoicedFeesMatching(db, organizationId, f);
  const [[a], [b]] = await Promise.all([invoiced.clone().count<{ count: string }[]>('* as count'), uninvoiced.clone().count<{ count: string }[]>('* as count')]);
  const both = db.raw('(? UNION ALL ?) as u', [
    invoiced.clone().select('f.id', 'f.invoice_id', 'i.created_at as sort_at', 'i.id as sort_id', 'f.position as sort_pos'),
    uninvoiced.clone().select('p.id', db.raw('NULL::uuid as invoice_id'), 'p.created_at as sort_at', 'p.id as sort_id', db.raw('0 as sort_pos')),
  ]);
  const rows: { id: string; invoice_id: string | null }[] = await db
    .from(both)
    .orderBy([{ column: 'sort_at', order: 'desc' }, { column: 'sort_id', order: 'desc' }, { column: 'sort_pos' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage)
    .select('id', 'invoice_id');
  return { fees: rows.map((r) => ({ feeId: r.id, invoiceId: r.invoice_id })), totalCount: Number(a!.count) + Number(b!.count) };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The invoice holding the fee, or null (an unknown or malformed id). */
export async function invoiceIdOfFee(db: Db, organizationId: string, feeId: string): Promise<string | null> {
  if (!UUID_RE.test(feeId)) return null;
  const row = await db('fees').where({ organization_id: organizationId, id: feeId }).first('invoice_id');
  return row ? row.invoice_id : null;
}
