// POST /invoices/preview (Lago's path): `{invoice: ...}` in the shape of GET /invoices/:lago_id (Lago's
// InvoiceObjectExtended) with invoice_type "subscription", status "draft" and null ids (nothing is stored:
// lago_id, number, lago_invoice_id, fee lago_id and created_at are null). Computed by
// api/services/invoice-preview.ts and serialized by api/serializers/invoice.ts (the GET /invoices serializer);
// writes nothing (the Idempotency-Key middleware may store the answer, as for any POST). Mounted before
// invoiceRoutes so `preview` is never read as a lago_id.
//
// Fee `lago_charge_id` is the stored charge id for a stored plan and null for an inline plan (its charges
// have no identity). Fees also carry Meterline's `precise_unit_amount` / `precise_amount` (unrounded), and
// `pay_in_advance: true` for pay-in-advance charges priced on the period's total usage.
import { Router } from 'express';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { validationError } from '../errors';
import { zodIssuesToDetails, lagoErrorMap } from '../schemas/common';
import { InvoicePreviewBody } from '../schemas/invoices-preview';
import { invoicePreview } from '../serializers/invoice';
import { withPaymentFields } from '../serializers/invoice-payment';
import { previewInvoice } from '../services/invoice-preview';

export function invoicePreviewRoutes(ctx: RouteContext, opts: { now?: () => string } = {}): Router {
  const r = Router();
  r.post('/invoices/preview', async (req, res) => {
    const organizationId = orgId(res);
    const defaultTimezone = defaultTimezoneOf(res);
    // Bare body (no envelope): issues keep their full path.
    const parsed = InvoicePreviewBody.safeParse(req.body ?? {}, { error: lagoErrorMap });
    if (!parsed.success) throw validationError(zodIssuesToDetails(parsed.error.issues, false));
    const preview = await previewInvoice(
      ctx.db,
      { organizationId, defaultTimezone, now: opts.now ? opts.now() : new Date().toISOString() },
      parsed.data,
    );
    // The payment fields of every invoice answer (nothing paid: the total is due; no due date before finalization).
    res.status(200).json({ invoice: withPaymentFields(invoicePreview(preview, defaultTimezone), undefined) });
  });
  return r;
}
