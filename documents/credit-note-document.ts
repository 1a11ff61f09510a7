// The PDF of a credit note: built from the stored note (its items named by the fees of the invoice it corrects),
// rendered once, stored under `credit_notes/<organization id>/<credit note id>.pdf` and recorded (unique per
// credit note), so every download serves the same bytes. Credit notes are issued final (no drafts), so every note
// has a document; a voided note keeps the document it was issued with (the void cancels its unused credit, not
// what it credited).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { getCreditNoteDocuments, recordCreditNoteDocument, type CreditNoteDocumentRecord } from '../db/repositories/credit-note-documents';
import { getCreditNote, type CreditNoteRecord } from '../db/repositories/credit-notes';
import { getCustomersByIds, type CustomerRecord } from '../db/repositories/customers';
import { getSeller, type SellerRecord } from '../db/repositories/invoice-documents';
import { getInvoice, type InvoiceRecord } from '../db/repositories/invoices';
import { renderCreditNotePdf, type CreditNoteDocumentModel } from './credit-note-pdf';
import { buyerLines } from './invoice-document';
import type { DocumentStore } from './storage';

export class CreditNoteNotFoundError extends Error {
  readonly code = 'credit_note_not_found';
}

/** The document model of a stored credit note (pure mapping). */
export function creditNoteModelOf(n: CreditNoteRecord, invoice: InvoiceRecord | null, seller: SellerRecord, customer: CustomerRecord | undefined): CreditNoteDocumentModel {
  const feeNames = new Map((invoice?.fees ?? []).map((f) => [f.id, f.displayName]));
  return {
    number: n.number,
    issuingDate: n.issuingDate,
    invoiceNumber: n.invoiceNumber ?? invoice?.number ?? n.invoiceId,
    currency: n.currency,
    reason: n.reason,
    description: n.description,
    seller: { name: seller.name, lines: seller.lines },
    buyer: { name: customer?.name ?? customer?.externalId ?? n.customerId, lines: buyerLines(customer) },
    items: n.items.map((i) => ({ description: feeNames.get(i.feeId) ?? `Fee ${i.feeId}`, amountCents: i.amountCents })),
    couponsAdjustmentAmountCents: n.couponsAdjustmentAmountCents,
    subTotalExcludingTaxesAmountCents: n.subTotalExcludingTaxesAmountCents,
    taxes: n.appliedTaxes.map((t) => ({ name: t.taxName, rate: t.taxRate, baseAmountCents: t.baseAmountCents, amountCents: t.amountCents })),
    taxesAmountCents: n.taxesAmountCents,
    totalAmountCents: n.totalAmountCents,
    creditAmountCents: n.creditAmountCents,
    refundAmountCents: n.refundAmountCents,
    offsetAmountCents: n.offsetAmountCents,
  };
}

export function creditNoteDocumentKey(organizationId: string, creditNoteId: string): string {
  return `credit_notes/${organizationId}/${creditNoteId}.pdf`;
}

/** Renders the stored credit note without storing anything. */
export async function renderStoredCreditNote(db: Knex, organizationId: string, creditNoteId: string): Promise<{ creditNote: CreditNoteRecord; pdf: Buffer }> {
  const n = await getCreditNote(db, organizationId, creditNoteId);
  if (!n) throw new CreditNoteNotFoundError(`Credit note ${creditNoteId} not found`);
  const [invoice, seller, customers] = await Promise.all([getInvoice(db, organizationId, n.invoiceId), getSeller(db, organizationId, n.billingEntityCode), getCustomersByIds(db, organizationId, [n.customerId])]);
  return { creditNote: n, pdf: await renderCreditNotePdf(creditNoteModelOf(n, invoice, seller, customers.get(n.customerId))) };
}

/** The credit note's stored document, rendered and stored on first use (idempotent: unique per note, same bytes). */
export async function ensureCreditNoteDocument(db: Knex, store: DocumentStore, organizationId: string, creditNoteId: string): Promise<CreditNoteDocumentRecord> {
  const existing = (await getCreditNoteDocuments(db, organizationId, [creditNoteId])).get(creditNoteId);
  if (existing) return existing;
  const { pdf } = await renderStoredCreditNote(db, organizationId, creditNoteId);
  const key = creditNoteDocumentKey(organizationId, creditNoteId);
  await store.put(key, pdf);
  return recordCreditNoteDocument(db, organizationId, { creditNoteId, storageKey: key, sha256: crypto.createHash('sha256').update(pdf).digest('hex'), byteSize: pdf.length });
}
