// Coupons and credit notes on the invoice pipeline, for activities and the API (issue 12b). Lago's order:
// fees → progressive-billing credit → COUPONS → taxes → CREDIT NOTES → wallets.
//
// - applyCustomerCoupons: the coupons step of every rating of a subscription invoice (create, refresh, finalize),
//   right before taxes: the customer's active applied coupons (locked in the caller's transaction) → billing/
//   couponInvoiceDraft. A draft shows its coupons; they are consumed only at finalization.
// - settleCreditsAtFinalization: the ONE call of the finalizing transaction (after the last rating, before the
//   number): the draft's coupon credits become consumption (unique per applied coupon and invoice), then the
//   customer's available credit-note balances lower the invoice's total (billing/consumeCreditNotes, unique per
//   note and invoice). Idempotent on the invoice: a second call finds its applications and changes nothing.
// - issueCreditNote: a credit note of a finalized invoice in ONE transaction (the invoice row locked; computed by
//   billing/computeCreditNote and splitCreditNote: nothing half-written, never above what is creditable); then
//   refundCreditNote sends its refund through the payment provider port with the key `credit_note:<id>:refund`.
// - creditUnusedFee: the unused part of a pay-in-advance fee credited back on termination / upgrade (the amount
//   comes from billing/, issue 11a); idempotent on `unused_fee:<fee id>`. createCreditActivities exposes it as
//   the activity `creditUnusedSubscriptionFee` for the integrator to wire.
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { couponInvoiceDraft } from '../billing/coupons';
import { computeCreditNote, consumeCreditNotes, splitCreditNote, type ComputedCreditNote, type CreditNoteReason, type CreditNoteSplit } from '../billing/credit-notes';
import { terminationCreditNoteSplit, type TerminationCreditNoteMode } from '../billing/termination-refund';
import { BillingError } from '../billing/errors';
import type { InvoiceDraft } from '../billing/invoice';
import type { Plan } from '../billing/types';
import { applicableCoupons, recordCouponCredits } from '../db/repositories/coupons';
import {
  appliedCreditNotesOf,
  claimCreditNoteRefund,
  getCreditNote,
  getCreditNoteByBusinessKey,
  insertCreditNote,
  lockAvailableCreditNotes,
  lockCreditableInvoice,
  recordCreditNoteApplications,
  recordCreditNoteRefund,
  refundablePayment,
  type CreditNoteRecord,
} from '../db/repositories/credit-notes';
import { recordCreditNoteRefundFailure } from '../db/repositories/credit-note-refund-failures';
import { invoiceCreditColumns, lowerInvoiceTotalByCreditNotes, type LockedInvoice } from '../db/repositories/invoice-credits';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { enqueueWebhook } from '../db/repositories/webhooks';
import type { PaymentProvider } from './payment-provider';

type Db = Knex | Knex.Transaction;

/** The coupons step (see the header): `draft` → the same draft with coupon shares, tax bases and lowered total. */
export async function applyCustomerCoupons(db: Db, ctx: SubscriptionBillingContext, plan: Plan, draft: InvoiceDraft): Promise<InvoiceDraft> {
  const run = async (trx: Knex.Transaction) => couponInvoiceDraft(draft, await applicableCoupons(trx, ctx.organizationId, ctx.customerId, draft.currency), () => plan.code);
  return 'isTransaction' in db && db.isTransaction ? run(db as Knex.Transaction) : (db as Knex).transaction(run);
}

/** The finalization hook (see the header). Returns the invoice with its total after credit notes. */
export async function settleCreditsAtFinalization(trx: Knex.Transaction, invoice: LockedInvoice): Promise<LockedInvoice> {
  const stored = await invoiceCreditColumns(trx, invoice.organizationId, invoice.id);
  await recordCouponCredits(trx, invoice.organizationId, invoice.id, stored.couponCredits);
  if ((await appliedCreditNotesOf(trx, invoice.organizationId, invoice.id)) > 0) return invoice;
  const notes = await lockAvailableCreditNotes(trx, invoice.organizationId, invoice.customerId, invoice.currency);
  const applied = consumeCreditNotes(invoice.totalAmountCents, notes);
  if (applied.length === 0) return invoice;
  await recordCreditNoteApplications(trx, invoice.organizationId, invoice.id, applied);
  return lowerInvoiceTotalByCreditNotes(trx, invoice, applied.reduce((a, c) => a + c.amountCents, 0));
}

export interface IssueCreditNoteInput {
  organizationId: string;
  invoiceId: string;
  reason: CreditNoteReason;
  description: string | null;
  items: { feeId: string; amountCents: number }[];
  /** The split, or a function of the computed note (termination refunds: refund what was paid, credit the rest). */
  split: Partial<CreditNoteSplit> | ((computed: ComputedCreditNote) => Partial<CreditNoteSplit>);
  /** When set, a second call with the same key returns the first note (unique index). */
  businessKey?: string;
  /** YYYY-MM-DD. */
  issuingDate: string;
}

/** Creates a credit note in one transaction (see the header); throws BillingError on bad input, writing nothing. */
export async function issueCreditNote(db: Knex, input: IssueCreditNoteInput): Promise<CreditNoteRecord> {
  return db.transaction(async (trx) => {
    const ctx = await lockCreditableInvoice(trx, input.organizationId, input.invoiceId);
    if (!ctx) throw new BillingError('invoice_not_found', `Invoice ${input.invoiceId} not found`, 'invoice_id');
    if (input.businessKey) {
      const existing = await getCreditNoteByBusinessKey(trx, input.organizationId, input.businessKey);
      if (existing) return existing;
    }
    if (ctx.invoice.status !== 'finalized' || ctx.invoice.voided) {
      throw new BillingError('invoice_not_creditable', `Invoice ${input.invoiceId} is ${ctx.invoice.voided ? 'voided' : ctx.invoice.status}: only a finalized invoice can be credited`, 'invoice_id');
    }
    const computed = computeCreditNote(ctx.invoice, ctx.fees, input.items);
    const split = splitCreditNote(computed, typeof input.split === 'function' ? input.split(computed) : input.split);
    const note = await insertCreditNote(trx, {
      organizationId: input.organizationId,
      invoice: ctx.invoice,
      computed,
      split,
      reason: input.reason,
      description: input.description,
      businessKey: input.businessKey ?? null,
      issuingDate: input.issuingDate,
    });
    await enqueueWebhook(trx, { organizationId: input.organizationId, webhookType: 'credit_note.created', objectType: 'credit_note', objectId: note.id, uniqueKey: `credit_note.created:${note.id}` });
    return note;
  });
}

/** Sends of one refund within one call when the provider answers with a transient fault (5xx, 429, timeout). */
export const REFUND_SENDS = 3;
const REFUND_BACKOFF_MS = 250;

function isPermanent(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

/**
 * Sends a credit note's refund through the provider (the invoice's succeeded provider payment). Without a
 * provider payment the refund stays `pending` (paid by hand: the operator refunds outside Meterline).
 * Exactly once per note, in three layers (as payments, activities/payments.ts): one refund row per note (a
 * recorded outcome is returned as is); before each send the provider is asked by METADATA whether this note's
 * refund already exists (Stripe replays a cached 500 for the same key, and forgets keys after 24 h); the send
 * carries the key `credit_note:<id>:refund`. A permanent refusal (invalid request: more than the charge's
 * unrefunded amount, a fully refunded charge) marks it `failed` and sends Lago's `credit_note.refund_failure`;
 * a transient fault is retried up to REFUND_SENDS times, then the refund stays `pending` with the error kept
 * (a later call retries it with the same key, finding a refund that went through).
 */
export async function refundCreditNote(db: Knex, provider: PaymentProvider | null, note: CreditNoteRecord): Promise<CreditNoteRecord> {
  if (note.refundAmountCents === 0) return note;
  const claim = await claimCreditNoteRefund(db, note.organizationId, note.id, note.refundAmountCents);
  if (claim.status !== 'pending') return (await getCreditNote(db, note.organizationId, note.id))!;
  const payment = await refundablePayment(db, note.organizationId, note.invoiceId);
  if (!provider || !payment) return note;
  const input = {
    providerPaymentId: payment.providerPaymentId,
    amountCents: claim.amountCents,
    currency: note.currency,
    idempotencyKey: claim.idempotencyKey,
    reference: note.number,
    creditNoteId: note.id,
  };
  let lastError: unknown = null;
  for (let send = 1; send <= REFUND_SENDS; send++) {
    try {
      const refund = (await provider.findRefund({ providerPaymentId: input.providerPaymentId, creditNoteId: note.id })) ?? (await provider.refund(input));
      const status = refund.status === 'succeeded' ? 'succeeded' : refund.status === 'failed' || refund.status === 'canceled' ? 'failed' : 'pending';
      await recordCreditNoteRefund(db, note.organizationId, note.id, { status, providerPaymentId: payment.providerPaymentId, providerRefundId: refund.providerRefundId, error: null });
      return (await getCreditNote(db, note.organizationId, note.id))!;
    } catch (err) {
      if (isPermanent(err)) {
        const details = (err.details?.[0] ?? {}) as { code?: string | null };
        await recordCreditNoteRefundFailure(db, note.organizationId, note.id, { providerPaymentId: payment.providerPaymentId, message: err.message, code: details.code ?? null });
        return (await getCreditNote(db, note.organizationId, note.id))!;
      }
      lastError = err;
      if (send < REFUND_SENDS) await new Promise((resolve) => setTimeout(resolve, REFUND_BACKOFF_MS * send));
    }
  }
  const message = lastError instanceof Error ? lastError.message : String(lastError);
  await recordCreditNoteRefund(db, note.organizationId, note.id, { status: 'pending', providerPaymentId: payment.providerPaymentId, providerRefundId: null, error: message });
  return (await getCreditNote(db, note.organizationId, note.id))!;
}

export interface CreditUnusedFeeInput {
  organizationId: string;
  invoiceId: string;
  feeId: string;
  /** The unused part of the fee, before taxes (billing/, issue 11a). 0 → nothing is issued. */
  amountCents: number;
  reason: 'order_change' | 'other';
  /** YYYY-MM-DD: the termination / upgrade date. */
  issuingDate: string;
  /** Lago's on_termination_credit_note: `refund` refunds the paid part, credits the rest (default credit). */
  mode?: TerminationCreditNoteMode;
}

/** Credits the unused part of a pay-in-advance fee to the customer's balance (idempotent on the fee). */
export async function creditUnusedFee(db: Knex, input: CreditUnusedFeeInput): Promise<CreditNoteRecord | null> {
  if (input.amountCents === 0) return null;
  return issueCreditNote(db, {
    organizationId: input.organizationId,
    invoiceId: input.invoiceId,
    reason: input.reason,
    description: 'Unused part of a pay-in-advance fee',
    items: [{ feeId: input.feeId, amountCents: input.amountCents }],
    split: (computed) => terminationCreditNoteSplit(computed, input.mode ?? 'credit'),
    businessKey: `unused_fee:${input.feeId}`,
    issuingDate: input.issuingDate,
  });
}

export interface CreditActivities {
  /** Activity: creditUnusedFee; answers the credit note's id (null when the amount was 0). */
  creditUnusedSubscriptionFee(input: CreditUnusedFeeInput): Promise<{ creditNoteId: string | null; totalAmountCents: number }>;
}

export function createCreditActivities(deps: { db: Knex }): CreditActivities {
  return {
    async creditUnusedSubscriptionFee(input) {
      try {
        const note = await creditUnusedFee(deps.db, input);
        return { creditNoteId: note?.id ?? null, totalAmountCents: note?.totalAmountCents ?? 0 };
      } catch (err) {
        // A business refusal (not creditable, above the fee) is permanent: retrying cannot help.
        if (err instanceof BillingError) throw ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: true, cause: err });
        throw err;
      }
    },
  };
}
