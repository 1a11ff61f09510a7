// The PDF of a finalized invoice: built from the stored invoice (its lines, totals, FX), rendered once, stored
// under `invoices/<organization id>/<invoice id>.pdf` and recorded (unique per invoice), so every download
// serves the same bytes. A draft has no document (405 `is_draft`, as Lago answers).
//
// Taxes: the invoice's taxes_amount_cents is printed, with one row per applied tax stored on the invoice
// (name, rate, base, amount); an untaxed invoice shows "Tax (0%)". The reverse-charge mention of the stored tax
// decision is printed when the decision carries one.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { getCustomersByIds, type CustomerRecord } from '../db/repositories/customers';
import { getInvoiceDocuments, getSeller, recordInvoiceDocument, type InvoiceDocumentRecord, type SellerRecord } from '../db/repositories/invoice-documents';
import { getInvoicesFx, type InvoiceFx } from '../db/repositories/invoice-fx';
import { getInvoice, type InvoiceRecord } from '../db/repositories/invoices';
import { renderInvoicePdf } from './invoice-pdf';
import type { DocumentTax, InvoiceDocumentModel } from './invoice-model';
import type { DocumentStore } from './storage';

export class DocumentError extends Error {
  constructor(readonly code: 'invoice_not_found' | 'is_draft', message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}

function localDate(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toISODate()!;
}

/** The last local day included in [from, to). */
function lastLocalDay(toIso: string, zone: string): string {
  return DateTime.fromMillis(Date.parse(toIso) - 1, { zone }).toISODate()!;
}

export function buyerLines(c: CustomerRecord | undefined): string[] {
  if (!c) return [];
  const lines = [`Customer id: ${c.externalId}`];
  if (c.email) lines.push(c.email);
  if (c.country) lines.push(`Country: ${c.country}`);
  if (c.taxIdentificationNumber) lines.push(`Tax id: ${c.taxIdentificationNumber}`);
  return lines;
}

export interface DocumentExtras {
  taxes?: DocumentTax[];
  reverseChargeMention?: string | null;
}

/** The tax rows and legal mention of a stored invoice (billing/tax's applied taxes and decision). */
export function storedTaxExtras(inv: InvoiceRecord): DocumentExtras {
  return {
    taxes: inv.taxes.appliedTaxes.map((t) => ({ name: t.taxName, rate: t.taxRate, baseAmountCents: t.feesAmountCents, amountCents: t.amountCents })),
    reverseChargeMention: inv.taxes.taxDecision?.legalMention ?? null,
  };
}

/** The document model of a stored invoice (pure mapping; the loaders are below). */
export function documentModelOf(
  inv: InvoiceRecord,
  seller: SellerRecord,
  customer: CustomerRecord | undefined,
  fx: InvoiceFx | undefined,
  extras: DocumentExtras = {},
): InvoiceDocumentModel {
  const zone = customer?.timezone ?? 'UTC';
  return {
    number: inv.number ?? `DRAFT-${inv.id.slice(0, 8).toUpperCase()}`,
    issuingDate: inv.issuingDate ?? lastLocalDay(inv.periodEnd, zone),
    invoiceType: inv.invoiceType,
    currency: inv.currency,
    periodFrom: localDate(inv.periodStart, zone),
    periodTo: lastLocalDay(inv.periodEnd, zone),
    seller: { name: seller.name, lines: seller.lines },
    footer: seller.footer,
    buyer: { name: customer?.name ?? inv.externalCustomerId, lines: buyerLines(customer) },
    lines: inv.fees.map((f) => ({
      description: f.displayName,
      fromDate: localDate(f.fromDatetime, zone),
      toDate: lastLocalDay(f.toDatetime, zone),
      units: f.units,
      unitAmount: f.unitAmount,
      amountCents: f.amountCents,
    })),
    discounts: [],
    feesAmountCents: inv.feesAmountCents,
    taxes: extras.taxes ?? [],
    taxesAmountCents: inv.taxesAmountCents,
    totalAmountCents: inv.totalAmountCents,
    reverseChargeMention: extras.reverseChargeMention ?? null,
    fx:
      fx && fx.status === 'converted' && fx.rate && fx.source && fx.rateDate
        ? { priceCurrency: fx.priceCurrency, rate: fx.rate, source: fx.source, rateDate: fx.rateDate }
        : null,
  };
}

export function invoiceDocumentKey(organizationId: string, invoiceId: string): string {
  return `invoices/${organizationId}/${invoiceId}.pdf`;
}

/** Renders the stored invoice (finalized or not) without storing anything. */
export async function renderStoredInvoice(db: Knex, organizationId: string, invoiceId: string): Promise<{ invoice: InvoiceRecord; pdf: Buffer }> {
  const inv = await getInvoice(db, organizationId, invoiceId);
  if (!inv) throw new DocumentError('invoice_not_found', `Invoice ${invoiceId} not found`);
  const [seller, customers, fx] = await Promise.all([
    getSeller(db, organizationId, inv.billingEntityCode),
    getCustomersByIds(db, organizationId, [inv.customerId]),
    getInvoicesFx(db, organizationId, [inv.id]),
  ]);
  return { invoice: inv, pdf: await renderInvoicePdf(documentModelOf(inv, seller, customers.get(inv.customerId), fx.get(inv.id), storedTaxExtras(inv))) };
}

/**
 * The finalized invoice's stored document, rendered and stored on first use. Idempotent: the record is
 * unique per invoice, and the same invoice renders to the same bytes, so a concurrent first use stores
 * identical files under the same key.
 */
export async function ensureInvoiceDocument(db: Knex, store: DocumentStore, organizationId: string, invoiceId: string): Promise<InvoiceDocumentRecord> {
  const existing = (await getInvoiceDocuments(db, organizationId, [invoiceId])).get(invoiceId);
  if (existing) return existing;
  const inv = await getInvoice(db, organizationId, invoiceId);
  if (!inv) throw new DocumentError('invoice_not_found', `Invoice ${invoiceId} not found`);
  if (inv.status !== 'finalized') throw new DocumentError('is_draft', `Invoice ${invoiceId} is a draft: only finalized invoices have a PDF`);
  const { pdf } = await renderStoredInvoice(db, organizationId, invoiceId);
  const key = invoiceDocumentKey(organizationId, invoiceId);
  await store.put(key, pdf);
  return recordInvoiceDocument(db, organizationId, {
    invoiceId,
    storageKey: key,
    sha256: crypto.createHash('sha256').update(pdf).digest('hex'),
    byteSize: pdf.length,
  });
}
