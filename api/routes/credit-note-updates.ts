// Lago's PUT /credit_notes/:lago_id (issue 13): {credit_note: {refund_status, metadata?}} → {credit_note}.
// Sets the refund status of a note that refunds something (refund_amount_cents > 0; else 422 refund_status
// value_is_invalid), e.g. after a refund made outside the payment provider. A later provider outcome for the same
// refund (activities/credits.ts refundCreditNote) still writes its own status over it. `metadata`, when sent, is
// merged into the note's metadata (keys kept unless named); POST /credit_notes/:lago_id/metadata replaces it.
import { Router } from 'express';
import { updateCreditNoteRefundStatus } from '../../db/repositories/credit-notes';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { parseBody } from '../schemas/common';
import { CreditNoteUpdateBody } from '../schemas/object-metadata';
import { creditNoteFileUrls } from '../services/credit-note-files';
import { publicBaseUrl } from '../services/invoice-extras';
import { creditNoteFees } from '../serializers/credit-note-fees';
import { serializeCreditNote } from './credit-notes';

export function creditNoteUpdateRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.put('/credit_notes/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(CreditNoteUpdateBody, req.body).credit_note;
    const updated = await updateCreditNoteRefundStatus(ctx.db, organizationId, req.params.lago_id, input.refund_status, input.metadata);
    if (updated === null) throw notFound('credit_note');
    if (updated === 'no_refund') throw validationError({ refund_status: ['value_is_invalid'] });
    const urls = await creditNoteFileUrls(ctx.db, organizationId, [updated.id], publicBaseUrl(req));
    res.json({ credit_note: serializeCreditNote(updated, urls.get(updated.id) ?? null, await creditNoteFees(ctx.db, organizationId, defaultTimezoneOf(res), [updated])) });
  });
  return r;
}
