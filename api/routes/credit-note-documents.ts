// Credit-note PDFs (documents/credit-note-document.ts), as invoice PDFs are served (routes/invoice-documents.ts):
// - POST /credit_notes/:lago_id/download (Lago's downloadCreditNote): renders and stores the PDF on first use and
//   answers the credit note with its `file_url`.
// - GET /credit_notes/:lago_id/file: the PDF (application/pdf), AUTHENTICATED with the organization's API key
//   like every /api/v1 route (another organization's credit note is a 404).
import { Router } from 'express';
import { getCreditNote } from '../../db/repositories/credit-notes';
import { CreditNoteNotFoundError, ensureCreditNoteDocument } from '../../documents/credit-note-document';
import { defaultDocumentStore, type DocumentStore } from '../../documents/storage';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';
import { creditNoteFileUrl } from '../services/credit-note-files';
import { publicBaseUrl } from '../services/invoice-extras';
import { creditNoteFees } from '../serializers/credit-note-fees';
import { serializeCreditNote } from './credit-notes';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function creditNoteDocumentRoutes(ctx: RouteContext, store: DocumentStore = defaultDocumentStore()): Router {
  const r = Router();

  async function ensure(organizationId: string, creditNoteId: string) {
    if (!UUID_RE.test(creditNoteId)) throw notFound('credit_note');
    try {
      return await ensureCreditNoteDocument(ctx.db, store, organizationId, creditNoteId);
    } catch (err) {
      if (err instanceof CreditNoteNotFoundError) throw notFound('credit_note');
      throw err;
    }
  }

  r.post('/credit_notes/:lago_id/download', async (req, res) => {
    const organizationId = orgId(res);
    const doc = await ensure(organizationId, req.params.lago_id);
    const n = (await getCreditNote(ctx.db, organizationId, doc.creditNoteId))!;
    res.json({ credit_note: serializeCreditNote(n, creditNoteFileUrl(publicBaseUrl(req), n.id), await creditNoteFees(ctx.db, organizationId, defaultTimezoneOf(res), [n])) });
  });

  r.get('/credit_notes/:lago_id/file', async (req, res) => {
    const organizationId = orgId(res);
    const doc = await ensure(organizationId, req.params.lago_id);
    const bytes = await store.get(doc.storageKey);
    if (!bytes) throw new ApiError(404, 'file_not_found', 'The credit note document is recorded but its file is missing from the store');
    const n = await getCreditNote(ctx.db, organizationId, doc.creditNoteId);
    res
      .status(200)
      .type('application/pdf')
      .set('Content-Disposition', `inline; filename="${(n?.number ?? doc.creditNoteId).replace(/[^A-Za-z0-9_-]/g, '_')}.pdf"`)
      .set('ETag', `"${doc.sha256}"`)
      .set('Cache-Control', 'private, max-age=3600')
      .send(bytes);
  });

  return r;
}
