// Lago's /credit_notes: create (credit / refund / offset, items per fee), estimate (nothing written), list, get,
// void (cancels the unused credit). Amounts come from billing/credit-notes.ts, the writes from
// activities/credits.ts issueCreditNote (one transaction, the invoice locked); a refund then goes through the
// organization's payment provider (activities/credits.ts refundCreditNote).
import { Router } from 'express';
import { issueCreditNote, refundCreditNote } from '../../activities/credits';
import { computeCreditNote, type ComputedCreditNote, type CreditNoteReason } from '../../billing/credit-notes';
import { BillingError } from '../../billing/errors';
import { lockCreditableInvoice, getCreditNote, listCreditNotes, voidCreditNote, type CreditNoteRecord } from '../../db/repositories/credit-notes';
import { getCustomerByExternalId } from '../../db/repositories/customers';
import { getProviderConfig } from '../../db/repositories/payments';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { iso, paginationMeta, parseBody } from '../schemas/common';
import { CreditNoteCreateBody, CreditNoteEstimateBody, CreditNoteListQuery } from '../schemas/credits';
import { knownBillingEntityCodes } from './billing-entities';
import type { ProviderFactory } from './payments';
import { creditNoteFileUrls } from '../services/credit-note-files';
import { publicBaseUrl } from '../services/invoice-extras';
import { creditNoteFees } from '../serializers/credit-note-fees';
import { decimalAsJsonNumber } from '../serializers/json-number';
import { nameUuid } from '../serializers/taxes';

function lagoTaxes(taxes: ComputedCreditNote['appliedTaxes'], creditNoteId: string | null) {
  return taxes.map((t) => ({
    lago_credit_note_id: creditNoteId,
    lago_tax_id: t.taxId,
    tax_name: t.taxName,
    tax_code: t.taxCode,
    tax_rate: Number(t.taxRate),
    amount_cents: t.amountCents,
    base_amount_cents: t.baseAmountCents,
  }));
}

/**
 * Lago CreditNoteObject. Items carry their fee as its invoice shows it (Lago's CreditNoteItemObject `fee`; `feeById`
 * from api/serializers/credit-note-fees.ts) and, as a Meterline extra, its lago_fee_id. An applied tax has no row of
 * its own (JSON on the credit note): its lago_id is a name-based UUID of the credit note and the tax, stable across
 * reads (as invoices' applied taxes); tax_description is null (a credit note keeps no tax description).
 * file_url once its PDF is stored (POST .../download).
 */
export function serializeCreditNote(n: CreditNoteRecord, fileUrl: string | null, feeById: Map<string, unknown>) {
  return {
    lago_id: n.id,
    sequential_id: n.sequentialId,
    billing_entity_code: n.billingEntityCode,
    number: n.number,
    lago_invoice_id: n.invoiceId,
    invoice_number: n.invoiceNumber ?? '',
    issuing_date: n.issuingDate,
    credit_status: n.creditStatus,
    refund_status: n.refundStatus,
    reason: n.reason,
    description: n.description,
    currency: n.currency,
    total_amount_cents: n.totalAmountCents,
    taxes_amount_cents: n.taxesAmountCents,
    precise_taxes_amount_cents: n.preciseTaxesAmountCents,
    taxes_rate: Number(n.taxesRate),
    sub_total_excluding_taxes_amount_cents: n.subTotalExcludingTaxesAmountCents,
    balance_amount_cents: n.balanceAmountCents,
    credit_amount_cents: n.creditAmountCents,
    refund_amount_cents: n.refundAmountCents,
    offset_amount_cents: n.offsetAmountCents,
    coupons_adjustment_amount_cents: n.couponsAdjustmentAmountCents,
    created_at: iso(n.createdAt),
    updated_at: iso(n.updatedAt),
    voided_at: iso(n.voidedAt),
    self_billed: false,
    file_url: fileUrl,
    items: n.items.map((i) => ({ lago_id: i.id, amount_cents: i.amountCents, amount_currency: n.currency, lago_fee_id: i.feeId, fee: feeOf(feeById, i.feeId) })),
    applied_taxes: lagoTaxes(n.appliedTaxes, n.id).map((t) => ({
      lago_id: nameUuid(`credit_note:${n.id}:${t.tax_code}:${t.tax_rate}`),
      ...t,
      tax_description: null,
      amount_currency: n.currency,
      created_at: iso(n.createdAt),
    })),
    metadata: n.metadata ?? null, // Lago's MetadataObject (api/routes/object-metadata.ts)
  };
}

function feeOf(feeById: Map<string, unknown>, feeId: string): unknown {
  const fee = feeById.get(feeId);
  if (fee === undefined) throw new Error(`credit note item: fee ${feeId} not found`);
  return fee;
}

function serializeEstimate(invoiceId: string, invoiceNumber: string | null, c: ComputedCreditNote) {
  return {
    lago_invoice_id: invoiceId,
    invoice_number: invoiceNumber ?? '',
    currency: c.currency,
    taxes_amount_cents: c.taxesAmountCents,
    precise_taxes_amount_cents: decimalAsJsonNumber(c.preciseTaxesAmountCents), // Lago: a JSON number
    taxes_rate: Number(c.taxesRate),
    sub_total_excluding_taxes_amount_cents: c.subTotalExcludingTaxesAmountCents,
    max_creditable_amount_cents: c.maxCreditableAmountCents,
    max_refundable_amount_cents: c.maxRefundableAmountCents,
    max_offsettable_amount_cents: c.maxOffsettableAmountCents,
    coupons_adjustment_amount_cents: c.couponsAdjustmentAmountCents,
    precise_coupons_adjustment_amount_cents: decimalAsJsonNumber(c.preciseCouponsAdjustmentAmountCents), // Lago: a JSON number
    items: c.items.map((i) => ({ lago_fee_id: i.feeId, amount_cents: i.amountCents })),
    applied_taxes: lagoTaxes(c.appliedTaxes, null),
  };
}

export function creditNoteRoutes(ctx: RouteContext, providerFor: ProviderFactory): Router {
  const r = Router();

  r.post('/credit_notes/estimate', async (req, res) => {
    const body = parseBody(CreditNoteEstimateBody, req.body).credit_note;
    const organizationId = orgId(res);
    // Read in a transaction that writes nothing (the lock only makes the figures consistent).
    const estimate = await ctx.db.transaction(async (trx) => {
      const c = await lockCreditableInvoice(trx, organizationId, body.invoice_id);
      if (!c) throw new BillingError('invoice_not_found', `Invoice ${body.invoice_id} not found`, 'invoice_id');
      if (c.invoice.status !== 'finalized' || c.invoice.voided) throw new BillingError('invoice_not_creditable', 'Only a finalized invoice can be credited', 'invoice_id');
      return serializeEstimate(c.invoice.id, c.invoice.number, computeCreditNote(c.invoice, c.fees, body.items.map((i) => ({ feeId: i.fee_id, amountCents: i.amount_cents }))));
    });
    res.json({ estimated_credit_note: estimate });
  });

  r.post('/credit_notes', async (req, res) => {
    const body = parseBody(CreditNoteCreateBody, req.body).credit_note;
    const organizationId = orgId(res);
    const note = await issueCreditNote(ctx.db, {
      organizationId,
      invoiceId: body.invoice_id,
      reason: (body.reason ?? 'other') as CreditNoteReason,
      description: body.description ?? null,
      items: body.items.map((i) => ({ feeId: i.fee_id, amountCents: i.amount_cents })),
      split: {
        ...(body.credit_amount_cents != null ? { creditAmountCents: body.credit_amount_cents } : {}),
        ...(body.refund_amount_cents != null ? { refundAmountCents: body.refund_amount_cents } : {}),
        ...(body.offset_amount_cents != null ? { offsetAmountCents: body.offset_amount_cents } : {}),
      },
      issuingDate: new Date().toISOString().slice(0, 10),
    });
    const config = note.refundAmountCents > 0 ? await getProviderConfig(ctx.db, organizationId) : null;
    const refunded = await refundCreditNote(ctx.db, config ? providerFor(config) : null, note);
    res.json({ credit_note: serializeCreditNote(refunded, null, await creditNoteFees(ctx.db, organizationId, defaultTimezoneOf(res), [refunded])) });
  });

  r.get('/credit_notes', async (req, res) => {
    const q = parseBody(CreditNoteListQuery, req.query);
    const organizationId = orgId(res);
    let customerId: string | undefined;
    if (q.external_customer_id !== undefined) {
      const customer = await getCustomerByExternalId(ctx.db, organizationId, q.external_customer_id);
      if (!customer) {
        res.json({ credit_notes: [], meta: paginationMeta(q.page, q.per_page, 0) });
        return;
      }
      customerId = customer.id;
    }
    const { creditNotes, totalCount } = await listCreditNotes(ctx.db, organizationId, {
      customerId,
      billingEntityCodes: await knownBillingEntityCodes(ctx.db, organizationId, q),
      ...(q.invoice_id !== undefined && /^[0-9a-f-]{36}$/i.test(q.invoice_id) ? { invoiceId: q.invoice_id } : {}),
      page: q.page,
      perPage: q.per_page,
    });
    const urls = await creditNoteFileUrls(ctx.db, organizationId, creditNotes.map((n) => n.id), publicBaseUrl(req));
    const fees = await creditNoteFees(ctx.db, organizationId, defaultTimezoneOf(res), creditNotes);
    res.json({ credit_notes: creditNotes.map((n) => serializeCreditNote(n, urls.get(n.id) ?? null, fees)), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/credit_notes/:lago_id', async (req, res) => {
    const n = await getCreditNote(ctx.db, orgId(res), req.params.lago_id);
    if (!n) throw notFound('credit_note');
    const urls = await creditNoteFileUrls(ctx.db, n.organizationId, [n.id], publicBaseUrl(req));
    res.json({ credit_note: serializeCreditNote(n, urls.get(n.id) ?? null, await creditNoteFees(ctx.db, n.organizationId, defaultTimezoneOf(res), [n])) });
  });

  r.put('/credit_notes/:lago_id/void', async (req, res) => {
    const n = await voidCreditNote(ctx.db, orgId(res), req.params.lago_id);
    if (!n) throw notFound('credit_note');
    const urls = await creditNoteFileUrls(ctx.db, n.organizationId, [n.id], publicBaseUrl(req));
    res.json({ credit_note: serializeCreditNote(n, urls.get(n.id) ?? null, await creditNoteFees(ctx.db, n.organizationId, defaultTimezoneOf(res), [n])) });
  });

  return r;
}
