// The file_url of credit notes whose PDF is stored (documents/credit-note-document.ts), for the serializer.
import type { Knex } from 'knex';
import { getCreditNoteDocuments } from '../../db/repositories/credit-note-documents';

/** The URL a stored credit-note PDF is served at (authenticated with the organization's API key, as invoices'). */
export function creditNoteFileUrl(baseUrl: string, creditNoteId: string): string {
  return `${baseUrl}/api/v1/credit_notes/${creditNoteId}/file`;
}

/** credit note id → file_url, for the notes that have a stored document. */
export async function creditNoteFileUrls(db: Knex, organizationId: string, creditNoteIds: string[], baseUrl: string): Promise<Map<string, string>> {
  const docs = await getCreditNoteDocuments(db, organizationId, creditNoteIds);
  return new Map([...docs.keys()].map((id) => [id, creditNoteFileUrl(baseUrl, id)]));
}
