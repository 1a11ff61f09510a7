// FX facts, the document URL and the error details (failed13) of stored invoices, for the invoice serializer (api/serializers/invoice.ts).
import type { Request } from 'express';
import type { Knex } from 'knex';
import { getInvoiceDocuments } from '../../db/repositories/invoice-documents';
import { getInvoicesFx } from '../../db/repositories/invoice-fx';
import { addOnCodesOfInvoices } from '../../db/repositories/add-ons';
import { errorDetailsOfInvoices } from '../../db/repositories/invoice-error-details';
import type { StoredInvoiceExtras } from '../serializers/invoice';

/** Public base URL of the API: METERLINE_PUBLIC_URL when set (behind a proxy), else the request's own. */
export function publicBaseUrl(req: Request): string {
  const configured = process.env.METERLINE_PUBLIC_URL;
  if (configured) return configured.replace(/\/+$/, '');
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** The URL a stored invoice PDF is served at (authenticated with the organization's API key). */
export function invoiceFileUrl(baseUrl: string, invoiceId: string): string {
  return `${baseUrl}/api/v1/invoices/${invoiceId}/file`;
}

export async function loadStoredInvoiceExtras(db: Knex, organizationId: string, invoiceIds: string[], baseUrl: string): Promise<Map<string, StoredInvoiceExtras>> {
  const [fx, docs, addOnCodes, errorDetails] = await Promise.all([
    getInvoicesFx(db, organizationId, invoiceIds),
    getInvoiceDocuments(db, organizationId, invoiceIds),
    addOnCodesOfInvoices(db, organizationId, invoiceIds),
    errorDetailsOfInvoices(db, organizationId, invoiceIds),
  ]);
  const out = new Map<string, StoredInvoiceExtras>();
  for (const id of invoiceIds) {
    const e: StoredInvoiceExtras = {};
    const f = fx.get(id);
    if (f) e.fx = f;
    if (docs.has(id)) e.fileUrl = invoiceFileUrl(baseUrl, id);
    if (addOnCodes.size > 0) e.addOnCodes = addOnCodes;
    e.errorDetails = errorDetails.get(id) ?? [];
    out.set(id, e);
  }
  return out;
}
