// Stored credit-note documents (migration 20261201001800), recorded once per credit note.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface CreditNoteDocumentRecord {
  creditNoteId: string;
  storageKey: string;
  sha256: string;
  byteSize: number;
}

interface Row {
  credit_note_id: string;
  storage_key: string;
  sha256: string;
  byte_size: number;
}

const COLUMNS = ['credit_note_id', 'storage_key', 'sha256', 'byte_size'];
const toRecord = (r: Row): CreditNoteDocumentRecord => ({ creditNoteId: r.credit_note_id, storageKey: r.storage_key, sha256: r.sha256, byteSize: r.byte_size });

export async function getCreditNoteDocuments(db: Db, organizationId: string, creditNoteIds: string[]): Promise<Map<string, CreditNoteDocumentRecord>> {
  if (creditNoteIds.length === 0) return new Map();
  const rows: Row[] = await db('credit_note_documents').where({ organization_id: organizationId }).whereIn('credit_note_id', creditNoteIds).select(COLUMNS);
  return new Map(rows.map((r) => [r.credit_note_id, toRecord(r)]));
}

/** Records the document once per credit note; a concurrent or repeated call gets the first record. */
export async function recordCreditNoteDocument(db: Db, organizationId: string, doc: CreditNoteDocumentRecord): Promise<CreditNoteDocumentRecord> {
  await db('credit_note_documents')
    .insert({ organization_id: organizationId, credit_note_id: doc.creditNoteId, storage_key: doc.storageKey, sha256: doc.sha256, byte_size: doc.byteSize })
    .onConflict('credit_note_id')
    .ignore();
  const row: Row = await db('credit_note_documents').where({ organization_id: organizationId, credit_note_id: doc.creditNoteId }).first(COLUMNS);
  return toRecord(row);
}
