// Stored invoice documents (migration 20261201000402) and the seller facts a document prints.
import type { Knex } from 'knex';
import { getBillingEntityByCode } from './billing-entities';

type Db = Knex | Knex.Transaction;

export interface InvoiceDocumentRecord {
  invoiceId: string;
  storageKey: string;
  sha256: string;
  byteSize: number;
}

interface Row {
  invoice_id: string;
  storage_key: string;
  sha256: string;
  byte_size: number;
}

const toRecord = (r: Row): InvoiceDocumentRecord => ({ invoiceId: r.invoice_id, storageKey: r.storage_key, sha256: r.sha256, byteSize: r.byte_size });

export async function getInvoiceDocuments(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, InvoiceDocumentRecord>> {
  if (invoiceIds.length === 0) return new Map();
  const rows: Row[] = await db('invoice_documents').where({ organization_id: organizationId }).whereIn('invoice_id', invoiceIds).select('invoice_id', 'storage_key', 'sha256', 'byte_size');
  return new Map(rows.map((r) => [r.invoice_id, toRecord(r)]));
}

/** Records the document once per invoice; a concurrent or repeated call gets the first record. */
export async function recordInvoiceDocument(db: Db, organizationId: string, doc: InvoiceDocumentRecord): Promise<InvoiceDocumentRecord> {
  await db('invoice_documents')
    .insert({ organization_id: organizationId, invoice_id: doc.invoiceId, storage_key: doc.storageKey, sha256: doc.sha256, byte_size: doc.byteSize })
    .onConflict('invoice_id')
    .ignore();
  const row: Row = await db('invoice_documents').where({ organization_id: organizationId, invoice_id: doc.invoiceId }).first('invoice_id', 'storage_key', 'sha256', 'byte_size');
  return toRecord(row);
}

/** The issuer block of a document: the issuing billing entity (entity13, issue 13). */
export interface SellerRecord {
  name: string;
  /** Lines under the name: address, e-mail, legal number, tax id (the default entity starts with its organization). */
  lines: string[];
  /** The entity's invoice_footer, printed under the totals; null when it has none. */
  footer: string | null;
}

/**
 * The issuer of a document from billing entity `billingEntityCode` of the organization: its legal name (else its
 * name) and its address, e-mail, legal number and tax identification number, as Lago's invoice template prints them.
 * The default entity's first line stays `Organization <slug>`, so an organization that set nothing more prints what
 * it always did. The logo (a URL) is not fetched at render time.
 */
export async function getSeller(db: Db, organizationId: string, billingEntityCode: string): Promise<SellerRecord> {
  const e = await getBillingEntityByCode(db, organizationId, billingEntityCode);
  if (!e) throw new Error(`Billing entity ${billingEntityCode} of organization ${organizationId} not found`);
  const cityLine = [e.zipcode, e.city].filter(Boolean).join(' ');
  const lines = [
    ...(e.isDefault ? [`Organization ${e.organizationSlug}`] : []),
    e.addressLine1, e.addressLine2, cityLine, e.state, e.country, e.email,
    e.legalNumber ? `Legal number: ${e.legalNumber}` : null,
    e.taxIdentificationNumber ? `Tax id: ${e.taxIdentificationNumber}` : null,
  ].filter((l): l is string => typeof l === 'string' && l !== '');
  return { name: e.legalName ?? e.name, lines, footer: e.invoiceFooter };
}

/** charge id → its billable metric's id (the serializer's lago_item_id). */
export async function metricIdsByCharge(db: Db, organizationId: string, chargeIds: string[]): Promise<Map<string, string>> {
  if (chargeIds.length === 0) return new Map();
  const rows: { id: string; billable_metric_id: string }[] = await db('charges')
    .where({ organization_id: organizationId })
    .whereIn('id', [...new Set(chargeIds)])
    .select('id', 'billable_metric_id');
  return new Map(rows.map((c) => [c.id, c.billable_metric_id]));
}
