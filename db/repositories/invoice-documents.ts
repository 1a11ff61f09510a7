// Stored invoice documents (migration 20261201000402) and the seller facts a document prints.
import type { Knex } from 'knex';

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

export interface SellerRecord {
  name: string;
  slug: string;
}

export async function getSeller(db: Db, organizationId: string): Promise<SellerRecord> {
  const row: { name: string; slug: string } = await db('organizations').where({ id: organizationId }).first('name', 'slug');
  return { name: row.name, slug: row.slug };
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
