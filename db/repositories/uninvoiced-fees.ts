// Fees on no invoice (issue 13): the fees of pay-in-advance charges with `invoiceable: false` (Lago's instant
// fees), stored in pay_in_advance_fees with invoice_id and regrouped_invoice_id NULL. Lago's GET /fees and
// GET /fees/:lago_id answer them beside the invoices' fees, and PUT /fees/:lago_id sets their payment_status (the
// only fees whose payment status is their own: an invoiced fee is paid with its invoice).
//
// Every query is scoped by organization_id. See db/migrations/20261201000700_pay_in_advance.ts and
// 20261201002100_fee_payment_status.ts for the table.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { BillingError } from '../../billing/errors';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export const FEE_PAYMENT_STATUS_VALUES = ['pending', 'succeeded', 'failed', 'refunded'] as const;
export type FeePaymentStatus = (typeof FEE_PAYMENT_STATUS_VALUES)[number];

export interface UninvoicedFeeRecord {
  id: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  customerId: string;
  externalCustomerId: string;
  chargeId: string;
  metricCode: string;
  /** The event the fee bills. */
  transactionId: string;
  filterIndex: number | null;
  groupedBy: Record<string, string>;
  displayName: string;
  /** Decimal strings. */
  units: string;
  unitAmount: string;
  preciseAmount: string;
  amountCents: number;
  currency: string;
  /** ISO UTC: the billing period the fee belongs to. */
  periodStart: string;
  periodEnd: string;
  paymentStatus: FeePaymentStatus;
  /** ISO UTC; only the current status's timestamp is set (Lago). */
  succeededAt: string | null;
  failedAt: string | null;
  refundedAt: string | null;
  createdAt: string;
}

const COLUMNS = [
  'p.id', 'p.subscription_id', 's.external_id as external_subscription_id', 's.customer_id', 'c.external_id as external_customer_id', 'p.charge_id',
  'p.metric_code', 'p.transaction_id', 'p.filter_index', 'p.grouped_by', 'p.display_name', 'p.units', 'p.unit_amount', 'p.precise_amount', 'p.amount_cents',
  'p.currency', 'p.period_start', 'p.period_end', 'p.payment_status', 'p.succeeded_at', 'p.failed_at', 'p.refunded_at', 'p.created_at',
];

const isoOrNull = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function toRecord(r: Record<string, any>): UninvoicedFeeRecord {
  const amountCents = minorUnits(r.amount_cents, `fee ${String(r.id)} amount`);
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    externalSubscriptionId: r.external_subscription_id,
    customerId: r.customer_id,
    externalCustomerId: r.external_customer_id,
    chargeId: r.charge_id,
    metricCode: r.metric_code,
    transactionId: r.transaction_id,
    filterIndex: r.filter_index,
    groupedBy: r.grouped_by ?? {},
    displayName: r.display_name,
    units: canonicalDecimal(String(r.units)),
    unitAmount: canonicalDecimal(String(r.unit_amount)),
    preciseAmount: canonicalDecimal(String(r.precise_amount)),
    amountCents,
    currency: String(r.currency).trim(),
    periodStart: r.period_start.toISOString(),
    periodEnd: r.period_end.toISOString(),
    paymentStatus: r.payment_status,
    succeededAt: isoOrNull(r.succeeded_at),
    failedAt: isoOrNull(r.failed_at),
    refundedAt: isoOrNull(r.refunded_at),
    createdAt: r.created_at.toISOString(),
  };
}

/** The organization's pay-in-advance fees joined to their subscription and customer (uninvoiced or not). */
function scoped(db: Db, organizationId: string) {
  return db('pay_in_advance_fees as p')
    .join('subscriptions as s', 's.id', 'p.subscription_id')
    .join('customers as c', 'c.id', 's.customer_id')
    .where('p.organization_id', organizationId)
    .andWhere('s.organization_id', organizationId);
}

/** The organization's fees on no invoice (neither their own nor a regrouping one). */
export function uninvoicedFeesQuery(db: Db, organizationId: string) {
  return scoped(db, organizationId).whereNull('p.invoice_id').whereNull('p.regrouped_invoice_id').whereNull('p.deleted_at'); // deleted: DELETE /fees/:id
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An uninvoiced fee by id, or null (unknown, malformed, another organization's, or invoiced). */
export async function getUninvoicedFee(db: Db, organizationId: string, feeId: string): Promise<UninvoicedFeeRecord | null> {
  if (!UUID_RE.test(feeId)) return null;
  const row = await uninvoicedFeesQuery(db, organizationId).andWhere('p.id', feeId).first(COLUMNS);
  return row ? toRecord(row) : null;
}

/** Uninvoiced fees by id (the ids that are not are left out). */
export async function getUninvoicedFeesByIds(db: Db, organizationId: string, feeIds: readonly string[]): Promise<Map<string, UninvoicedFeeRecord>> {
  const wanted = [...new Set(feeIds)].filter((id) => UUID_RE.test(id));
  if (wanted.length === 0) return new Map();
  const rows = await uninvoicedFeesQuery(db, organizationId).whereIn('p.id', wanted).select(COLUMNS);
  return new Map(rows.map((r: Record<string, any>) => [r.id, toRecord(r)]));
}

/** Whether an id names a fee of the organization, and whether it is on an invoice (no lock: a first answer). */
export async function feeStanding(db: Db, organizationId: string, feeId: string): Promise<'not_found' | 'invoiced' | 'uninvoiced'> {
  if (!UUID_RE.test(feeId)) return 'not_found';
  if (await db('fees').where({ organization_id: organizationId, id: feeId }).first('id')) return 'invoiced';
  const row: { invoice_id: string | null; regrouped_invoice_id: string | null } | undefined = await db('pay_in_advance_fees')
    .where({ organization_id: organizationId, id: feeId })
    .whereNull('deleted_at') // a deleted fee names nothing (DELETE /fees/:id)
    .first('invoice_id', 'regrouped_invoice_id');
  if (!row) return 'not_found';
  return row.invoice_id !== null || row.regrouped_invoice_id !== null ? 'invoiced' : 'uninvoiced';
}

export type FeePaymentStatusUpdate =
  | { outcome: 'not_found' }
  | { outcome: 'updated' | 'unchanged'; fee: UninvoicedFeeRecord };

/**
 * Lago's Fees::UpdateService for payment_status, in one transaction under the fee's row lock:
 * - an id that names no fee of the organization → not_found;
 * - a fee on an invoice (a `fees` row, or a pay-in-advance fee with its own or a regrouping invoice) → BillingError
 *   `invoiced_fee` (Lago's 405: an invoiced fee's payment status is its invoice's);
 * - the same status again → unchanged (nothing written: the status's timestamp stays the first one);
 * - another status → set, with only the new status's timestamp (`now`); the others cleared, as Lago does.
 */
export async function setFeePaymentStatus(db: Knex, organizationId: string, feeId: string, status: FeePaymentStatus, now: Date): Promise<FeePaymentStatusUpdate> {
  if (!UUID_RE.test(feeId)) return { outcome: 'not_found' };
  return db.transaction(async (trx) => {
    const invoiced = await trx('fees').where({ organization_id: organizationId, id: feeId }).first('id');
    if (invoiced) throw new BillingError('invoiced_fee', `Fee ${feeId} is on an invoice: its payment status is the invoice's`, 'payment_status');
    const row: { id: string; invoice_id: string | null; regrouped_invoice_id: string | null; payment_status: string } | undefined = await trx('pay_in_advance_fees')
      .where({ organization_id: organizationId, id: feeId })
      .whereNull('deleted_at') // a deleted fee names nothing (DELETE /fees/:id)
      .forUpdate()
      .first('id', 'invoice_id', 'regrouped_invoice_id', 'payment_status');
    if (!row) return { outcome: 'not_found' } as const;
    if (row.invoice_id !== null || row.regrouped_invoice_id !== null) {
      throw new BillingError('invoiced_fee', `Fee ${feeId} is on an invoice: its payment status is the invoice's`, 'payment_status');
    }
    const changed = row.payment_status !== status;
    if (changed) {
      await trx('pay_in_advance_fees')
        .where({ organization_id: organizationId, id: feeId })
        .update({
          payment_status: status,
          succeeded_at: status === 'succeeded' ? now : null,
          failed_at: status === 'failed' ? now : null,
          refunded_at: status === 'refunded' ? now : null,
          updated_at: now,
        });
    }
    const fee = await getUninvoicedFee(trx, organizationId, feeId);
    if (!fee) throw new BillingError('invoice_conflict', `Fee ${feeId} vanished while it was locked`);
    return { outcome: changed ? 'updated' : 'unchanged', fee } as const;
  });
}
