// Credit notes and what they credit, refund, offset and lend to later invoices. Every query is scoped by
// organization_id. Money is never computed here (billing/credit-notes.ts does); rows are read and written.
//
// - lockCreditableInvoice: the invoice row FOR UPDATE (so two credit notes of one invoice take turns and the
//   creditable amounts they check cannot both be spent), its fees with their taxes and coupon shares, and what its
//   earlier credit notes already took (all of them, voided ones included: voiding cancels a note's unused balance,
//   never its items).
// - insertCreditNote: the note (sequential id per invoice, number `<invoice number>-CN<seq>`), its items, and the
//   offset as a payment of type `credit_note` (so the invoice's due amount and payment status follow the
//   existing payment path); all in the caller's transaction. A business key (optional) makes it idempotent.
// - consumeCreditNoteBalances (finalization of a later invoice): the customer's available notes of the invoice's
//   currency, LOCKED oldest first; the applications (unique per note and invoice) and the balances move together.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { AvailableCreditNote, ComputedCreditNote, CreditableFee, CreditableInvoice, CreditNoteAppliedTax, CreditNoteReason, CreditNoteSplit } from '../../billing/credit-notes';
import type { FeeAppliedTax } from '../../billing/tax';
import { recomputeInvoicePayment } from './payments';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


export interface CreditableInvoiceContext {
  invoice: CreditableInvoice & { id: string; customerId: string; number: string | null; status: string; voided: boolean; paidCents: number };
  fees: CreditableFee[];
}

/** Locks the invoice and reads what billing/credit-notes needs; null when it is not the organization's. */
export async function lockCreditableInvoice(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<CreditableInvoiceContext | null> {
  if (!UUID_RE.test(invoiceId)) return null;
  const inv = await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).forUpdate().first();
  if (!inv || inv.status === 'deleted') return null; // a deleted draft (del13) is not found, as Lago's visible scope answers
  const fees: { id: string; amount_cents: string; precise_coupons_amount_cents: string | null; applied_taxes: FeeAppliedTax[] | null }[] = await trx('fees')
    .where({ organization_id: organizationId, invoice_id: invoiceId })
    .orderBy('position')
    .select('id', 'amount_cents', 'precise_coupons_amount_cents', 'applied_taxes');
  const credited: { fee_id: string; sum: string }[] = await trx('credit_note_items as i')
    .join('credit_notes as n', 'n.id', 'i.credit_note_id')
    .where({ 'n.organization_id': organizationId, 'n.invoice_id': invoiceId })
    .groupBy('i.fee_id')
    .select('i.fee_id', trx.raw('sum(i.amount_cents)::bigint as sum'));
  const creditedBy = new Map(credited.map((c) => [c.fee_id, minorUnits(c.sum, 'sum')]));
  const [sums] = await trx('credit_notes')
    .where({ organization_id: organizationId, invoice_id: invoiceId })
    .select(
      trx.raw('coalesce(sum(total_amount_cents), 0)::bigint as total'),
      trx.raw('coalesce(sum(taxes_amount_cents), 0)::bigint as taxes'),
      trx.raw('coalesce(sum(refund_amount_cents), 0)::bigint as refunds'),
    );
  const total = minorUnits(inv.total_amount_cents, 'total_amount_cents');
  const paid = minorUnits(inv.total_paid_amount_cents, 'total_paid_amount_cents');
  return {
    invoice: {
      id: inv.id,
      customerId: inv.customer_id,
      number: inv.number ?? null,
      status: inv.status,
      voided: inv.voided_at !== null && inv.voided_at !== undefined,
      currency: String(inv.currency).trim(),
      // What the customer was charged, prepaid credits and applied credit notes included (they paid for these fees
      // too, as Lago's creditable amount counts them): creditable as credit; only what was paid in money is
      // refundable (refundableCents below).
      totalAmountCents: total + minorUnits(inv.prepaid_credit_amount_cents ?? 0, 'prepaid_credit_amount_cents') + minorUnits(inv.credit_notes_amount_cents ?? 0, 'credit_notes_amount_cents'),
      taxesAmountCents: minorUnits(inv.taxes_amount_cents, 'taxes_amount_cents'),
      creditedTotalCents: minorUnits(sums.total, 'total'),
      creditedTaxesCents: minorUnits(sums.taxes, 'taxes'),
      paidCents: paid,
      refundableCents: Math.max(0, paid - minorUnits(sums.refunds, 'refunds')),
      dueCents: Math.max(0, total - paid),
    },
    fees: fees.map((f) => ({
      feeId: f.id,
      amountCents: minorUnits(f.amount_cents, 'amount_cents'),
      preciseCouponsAmountCents: String(f.precise_coupons_amount_cents ?? '0'),
      taxes: (f.applied_taxes ?? []).map((t) => ({ taxId: t.taxId, taxCode: t.taxCode, taxName: t.taxName, taxRate: t.taxRate })),
      creditedAmountCents: creditedBy.get(f.id) ?? 0,
    })),
  };
}

export interface CreditNoteRecord {
  id: string;
  /** Lago's metadata (db/repositories/object-metadata.ts); null until set. */
  metadata?: Record<string, string | null> | null;
  organizationId: string;
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string;
  sequentialId: number;
  number: string;
  issuingDate: string;
  reason: CreditNoteReason;
  description: string | null;
  currency: string;
  creditStatus: 'available' | 'consumed' | 'voided' | null;
  refundStatus: 'pending' | 'succeeded' | 'failed' | null;
  totalAmountCents: number;
  creditAmountCents: number;
  balanceAmountCents: number;
  refundAmountCents: number;
  offsetAmountCents: number;
  taxesAmountCents: number;
  preciseTaxesAmountCents: string;
  taxesRate: string;
  subTotalExcludingTaxesAmountCents: number;
  couponsAdjustmentAmountCents: number;
  preciseCouponsAdjustmentAmountCents: string;
  appliedTaxes: CreditNoteAppliedTax[];
  items: { id: string; feeId: string; amountCents: number }[];
  /** Lago's billing_entity_code: the billing entity that issued the credited invoice. */
  billingEntityCode: string;
  voidedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function toCreditNote(r: Record<string, any>, items: { id: string; fee_id: string; amount_cents: string }[]): CreditNoteRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    invoiceId: r.invoice_id,
    invoiceNumber: r.invoice_number ?? null,
    customerId: r.customer_id,
    sequentialId: r.sequential_id,
    number: r.number,
    issuingDate: r.issuing_date_text,
    reason: r.reason,
    description: r.description ?? null,
    currency: String(r.currency).trim(),
    creditStatus: r.credit_status ?? null,
    refundStatus: r.refund_status ?? null,
    totalAmountCents: minorUnits(r.total_amount_cents, 'total_amount_cents'),
    creditAmountCents: minorUnits(r.credit_amount_cents, 'credit_amount_cents'),
    balanceAmountCents: minorUnits(r.balance_amount_cents, 'balance_amount_cents'),
    refundAmountCents: minorUnits(r.refund_amount_cents, 'refund_amount_cents'),
    offsetAmountCents: minorUnits(r.offset_amount_cents, 'offset_amount_cents'),
    taxesAmountCents: minorUnits(r.taxes_amount_cents, 'taxes_amount_cents'),
    preciseTaxesAmountCents: r.precise_taxes_text,
    taxesRate: r.taxes_rate_text,
    subTotalExcludingTaxesAmountCents: minorUnits(r.sub_total_excluding_taxes_amount_cents, 'sub_total_excluding_taxes_amount_cents'),
    couponsAdjustmentAmountCents: minorUnits(r.coupons_adjustment_amount_cents, 'coupons_adjustment_amount_cents'),
    preciseCouponsAdjustmentAmountCents: r.precise_coupons_text,
    appliedTaxes: r.applied_taxes ?? [],
    items: items.map((i) => ({ id: i.id, feeId: i.fee_id, amountCents: minorUnits(i.amount_cents, 'amount_cents') })),
    billingEntityCode: r.invoice_billing_entity_code,
    voidedAt: r.voided_at ?? null,
    metadata: r.metadata ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function selectNotes(db: Db, organizationId: string) {
  return db('credit_notes as n')
    .join('invoices as i', 'i.id', 'n.invoice_id')
    .where('n.organization_id', organizationId)
    .select(
      'n.*',
      'i.number as invoice_number',
      'i.billing_entity_code as invoice_billing_entity_code',
      db.raw(`to_char(n.issuing_date, 'YYYY-MM-DD') as issuing_date_text`),
      db.raw('trim_scale(n.precise_taxes_amount_cents)::text as precise_taxes_text'),
      db.raw('trim_scale(n.taxes_rate)::text as taxes_rate_text'),
      db.raw('trim_scale(n.precise_coupons_adjustment_amount_cents)::text as precise_coupons_text'),
    );
}

async function withItems(db: Db, organizationId: string, rows: Record<string, any>[]): Promise<CreditNoteRecord[]> {
  if (rows.length === 0) return [];
  const items: { id: string; credit_note_id: string; fee_id: string; amount_cents: string }[] = await db('credit_note_items')
    .where({ organization_id: organizationId })
    .whereIn('credit_note_id', rows.map((r) => r.id))
    .orderBy('id')
    .select('id', 'credit_note_id', 'fee_id', 'amount_cents');
  return rows.map((r) => toCreditNote(r, items.filter((i) => i.credit_note_id === r.id)));
}

export async function getCreditNote(db: Db, organizationId: string, id: string): Promise<CreditNoteRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const r = await selectNotes(db, organizationId).where('n.id', id).first();
  return r ? (await withItems(db, organizationId, [r]))[0]! : null;
}

export async function getCreditNoteByBusinessKey(db: Db, organizationId: string, key: string): Promise<CreditNoteRecord | null> {
  const r = await selectNotes(db, organizationId).where('n.business_key', key).first();
  return r ? (await withItems(db, organizationId, [r]))[0]! : null;
}

export async function listCreditNotes(
  db: Db,
  organizationId: string,
  f: { customerId?: string; invoiceId?: string; billingEntityCodes?: string[]; page: number; perPage: number },
): Promise<{ creditNotes: CreditNoteRecord[]; totalCount: number }> {
  const scope = (q: Knex.QueryBuilder, p: string) => {
    if (f.customerId) q.where(`${p}.customer_id`, f.customerId);
    if (f.invoiceId) q.where(`${p}.invoice_id`, f.invoiceId);
    // Lago: the credited invoice's billing entity.
    if (f.billingEntityCodes && f.billingEntityCodes.length > 0) {
      q.whereIn(`${p}.invoice_id`, db('invoices').select('id').where('organization_id', organizationId).whereIn('billing_entity_code', f.billingEntityCodes));
    }
    return q;
  };
  const [{ count }] = await scope(db('credit_notes as n').where('n.organization_id', organizationId), 'n').count({ count: '*' });
  const rows = await scope(selectNotes(db, organizationId), 'n')
    .orderBy([{ column: 'n.created_at', order: 'desc' }, { column: 'n.id', order: 'desc' }])
    .limit(f.perPage)
    .offset((f.page - 1) * f.perPage);
  return { creditNotes: await withItems(db, organizationId, rows), totalCount: Number(count) };
}

export interface InsertCreditNoteInput {
  organizationId: string;
  invoice: CreditableInvoiceContext['invoice'];
  computed: ComputedCreditNote;
  split: CreditNoteSplit;
  reason: CreditNoteReason;
  description: string | null;
  businessKey: string | null;
  issuingDate: string;
}

/** Writes a computed credit note in the caller's transaction (the invoice locked by lockCreditableInvoice). */
export async function insertCreditNote(trx: Knex.Transaction, input: InsertCreditNoteInput): Promise<CreditNoteRecord> {
  const { organizationId, invoice, computed: cn, split } = input;
  const [{ seq }] = await trx('credit_notes').where({ organization_id: organizationId, invoice_id: invoice.id }).select(trx.raw('coalesce(max(sequential_id), 0)::int + 1 as seq'));
  const number = `${invoice.number ?? invoice.id.slice(0, 8).toUpperCase()}-CN${String(seq)}`;
  const [row] = await trx('credit_notes')
    .insert({
      organization_id: organizationId,
      invoice_id: invoice.id,
      customer_id: invoice.customerId,
      sequential_id: seq,
      number,
      issuing_date: input.issuingDate,
      reason: input.reason,
      description: input.description,
      currency: cn.currency,
      credit_status: split.creditAmountCents > 0 ? 'available' : null,
      refund_status: split.refundAmountCents > 0 ? 'pending' : null,
      total_amount_cents: cn.totalAmountCents,
      credit_amount_cents: split.creditAmountCents,
      balance_amount_cents: split.creditAmountCents,
      refund_amount_cents: split.refundAmountCents,
      offset_amount_cents: split.offsetAmountCents,
      taxes_amount_cents: cn.taxesAmountCents,
      precise_taxes_amount_cents: cn.preciseTaxesAmountCents,
      taxes_rate: cn.taxesRate,
      sub_total_excluding_taxes_amount_cents: cn.subTotalExcludingTaxesAmountCents,
      coupons_adjustment_amount_cents: cn.couponsAdjustmentAmountCents,
      precise_coupons_adjustment_amount_cents: cn.preciseCouponsAdjustmentAmountCents,
      applied_taxes: JSON.stringify(cn.appliedTaxes),
      business_key: input.businessKey,
    })
    .returning('id');
  await trx('credit_note_items').insert(
    cn.items.map((i) => ({
      organization_id: organizationId,
      credit_note_id: row.id,
      fee_id: i.feeId,
      amount_cents: i.amountCents,
      precise_coupons_adjustment_amount_cents: i.preciseCouponsAdjustmentCents,
    })),
  );
  if (split.offsetAmountCents > 0) {
    await trx('payments').insert({
      organization_id: organizationId,
      invoice_id: invoice.id,
      payment_type: 'credit_note',
      amount_cents: split.offsetAmountCents,
      currency: cn.currency,
      status: 'succeeded',
      reference: `credit_note:${row.id as string}`,
      paid_at: trx.fn.now(),
    });
    await recomputeInvoicePayment(trx, organizationId, invoice.id);
  }
  return (await getCreditNote(trx, organizationId, row.id))!;
}

/** Voids a note's unused credit (balance → 0, credit_status voided). Refused when nothing is left to void. */
export async function voidCreditNote(db: Knex, organizationId: string, id: string): Promise<CreditNoteRecord | null> {
  return db.transaction(async (trx) => {
    if (!UUID_RE.test(id)) return null;
    const row = await trx('credit_notes').where({ organization_id: organizationId, id }).forUpdate().first();
    if (!row) return null;
    if (row.voided_at || minorUnits(row.balance_amount_cents, 'balance_amount_cents') === 0) {
      throw new BillingError('credit_note_not_voidable', `Credit note ${id} has no credit left to void`, 'lago_id');
    }
    await trx('credit_notes').where({ organization_id: organizationId, id }).update({ balance_amount_cents: 0, credit_status: 'voided', voided_at: trx.fn.now(), updated_at: trx.fn.now() });
    return getCreditNote(trx, organizationId, id);
  });
}

/** The credit-notes step at finalization (see the header); returns what was applied. Idempotent per invoice. */
export async function lockAvailableCreditNotes(trx: Knex.Transaction, organizationId: string, customerId: string, currency: string): Promise<AvailableCreditNote[]> {
  const rows: { id: string; balance_amount_cents: string; created_at: Date }[] = await trx('credit_notes')
    .where({ organization_id: organizationId, customer_id: customerId, currency, credit_status: 'available' })
    .whereNull('voided_at')
    .where('balance_amount_cents', '>', 0)
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .forUpdate()
    .select('id', 'balance_amount_cents', 'created_at');
  return rows.map((r) => ({ creditNoteId: r.id, balanceAmountCents: minorUnits(r.balance_amount_cents, 'balance_amount_cents'), createdAt: r.created_at.toISOString() }));
}

export async function appliedCreditNotesOf(db: Db, organizationId: string, invoiceId: string): Promise<number> {
  const [{ sum }] = await db('credit_note_applications').where({ organization_id: organizationId, invoice_id: invoiceId }).select(db.raw('coalesce(sum(amount_cents), 0)::bigint as sum'));
  return minorUnits(sum, 'sum');
}

/** Writes the applications and lowers the balances (a note whose balance reaches 0 is `consumed`). */
export async function recordCreditNoteApplications(trx: Knex.Transaction, organizationId: string, invoiceId: string, applied: { creditNoteId: string; amountCents: number }[]): Promise<void> {
  for (const a of applied) {
    const inserted = await trx('credit_note_applications')
      .insert({ organization_id: organizationId, credit_note_id: a.creditNoteId, invoice_id: invoiceId, amount_cents: a.amountCents })
      .onConflict(['credit_note_id', 'invoice_id'])
      .ignore()
      .returning('id');
    if (inserted.length === 0) continue;
    await trx('credit_notes')
      .where({ organization_id: organizationId, id: a.creditNoteId })
      .update({
        balance_amount_cents: trx.raw('balance_amount_cents - ?::bigint', [a.amountCents]),
        credit_status: trx.raw(`CASE WHEN balance_amount_cents - ?::bigint = 0 THEN 'consumed' ELSE credit_status END`, [a.amountCents]),
        updated_at: trx.fn.now(),
      });
  }
}

// ---- refunds ------------------------------------------------------------------------------------------------

export interface RefundClaim {
  id: string;
  status: string;
  idempotencyKey: string;
  providerPaymentId: string | null;
  amountCents: number;
}

/** The refund row of a credit note, created pending the first time (unique per credit note). */
export async function claimCreditNoteRefund(db: Db, organizationId: string, creditNoteId: string, amountCents: number): Promise<RefundClaim> {
  await db('credit_note_refunds')
    .insert({ organization_id: organizationId, credit_note_id: creditNoteId, idempotency_key: `credit_note:${creditNoteId}:refund`, status: 'pending', amount_cents: amountCents })
    .onConflict(['credit_note_id'])
    .ignore();
  const r = await db('credit_note_refunds').where({ organization_id: organizationId, credit_note_id: creditNoteId }).first();
  return { id: r.id, status: r.status, idempotencyKey: r.idempotency_key, providerPaymentId: r.provider_payment_id ?? null, amountCents: minorUnits(r.amount_cents, 'amount_cents') };
}

/** The latest succeeded provider payment of the invoice (what a refund goes back through), or null. */
export async function refundablePayment(db: Db, organizationId: string, invoiceId: string): Promise<{ providerPaymentId: string; currency: string } | null> {
  const r = await db('payments')
    .where({ organization_id: organizationId, invoice_id: invoiceId, payment_type: 'provider', status: 'succeeded' })
    .whereNotNull('provider_payment_id')
    .orderBy('created_at', 'desc')
    .first('provider_payment_id', 'currency');
  return r ? { providerPaymentId: r.provider_payment_id, currency: String(r.currency).trim() } : null;
}

export async function recordCreditNoteRefund(
  db: Knex,
  organizationId: string,
  creditNoteId: string,
  outcome: { status: 'pending' | 'succeeded' | 'failed'; providerPaymentId: string | null; providerRefundId: string | null; error: string | null },
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('credit_note_refunds').where({ organization_id: organizationId, credit_note_id: creditNoteId }).update({
      status: outcome.status,
      provider_payment_id: outcome.providerPaymentId,
      provider_refund_id: outcome.providerRefundId,
      error: outcome.error,
      updated_at: trx.fn.now(),
    });
    await trx('credit_notes').where({ organization_id: organizationId, id: creditNoteId }).update({ refund_status: outcome.status, updated_at: trx.fn.now() });
  });
}

/**
 * Lago's PUT /credit_notes/:lago_id (issue 13): sets the refund status by hand (a refund made outside the payment
 * provider, or one whose outcome the operator knows first) and merges metadata, in one statement. Null when the
 * organization has no such note; 'no_refund' when the note refunds nothing (its refund_status stays null).
 */
export async function updateCreditNoteRefundStatus(
  db: Knex,
  organizationId: string,
  id: string,
  refundStatus: 'pending' | 'succeeded' | 'failed',
  metadata: Record<string, string | null> | undefined,
): Promise<CreditNoteRecord | 'no_refund' | null> {
  if (!UUID_RE.test(id)) return null;
  return db.transaction(async (trx) => {
    const row = await trx('credit_notes').where({ organization_id: organizationId, id }).forUpdate().first('id', 'refund_amount_cents');
    if (!row) return null;
    if (Number(row.refund_amount_cents) <= 0) return 'no_refund';
    const patch: Record<string, unknown> = { refund_status: refundStatus, updated_at: trx.fn.now() };
    if (metadata !== undefined) patch.metadata = trx.raw(`coalesce(metadata, '{}'::jsonb) || ?::jsonb`, [JSON.stringify(metadata)]);
    await trx('credit_notes').where({ organization_id: organizationId, id }).update(patch);
    return getCreditNote(trx, organizationId, id);
  });
}
