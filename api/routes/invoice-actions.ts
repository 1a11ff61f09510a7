// Invoice actions (Lago API v1): PUT /invoices/:id/refresh, PUT /invoices/:id/finalize, POST /invoices/:id/void,
// POST /invoices/:id/retry_payment, PUT /invoices/:id, DELETE /invoices/:id (a draft only, decided by Postgres).
//
// Each action goes through the invoice's workflow (a Temporal update with a validator) while it runs, so the
// workflow's state and Postgres never disagree; a validator's refusal is 405 with its code (Lago's
// `not_voidable`; `is_not_draft`, `payment_not_retryable`). Without a running workflow: void is decided by Postgres
// alone (finalized, unpaid, not voided → voided; else 405 not_voidable); refresh/finalize of a non-draft are 405
// is_not_draft; retry_payment is 405 payment_not_retryable (collection has ended).
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_CODES, httpStatusOf } from '../../billing/error-codes';
import { Router, type Request, type Response } from 'express';
import { getCustomersByIds } from '../../db/repositories/customers';
import { metricIdsByCharge } from '../../db/repositories/invoice-documents';
import { getInvoice, getInvoiceAnyStatus, type InvoiceRecord } from '../../db/repositories/invoices';
import { deleteDraftInvoice } from '../../db/repositories/invoice-deletion';
import { invoicePaymentFields, updateInvoiceFields, voidInvoiceRow } from '../../db/repositories/payments';
import { markInvoiceDisputeLost } from '../../db/repositories/invoice-disputes';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import {
  INVOICE_ACTION_ERRORS,
  finalizeInvoiceUpdate,
  invoicePaymentSignal,
  invoiceWorkflowId,
  refreshInvoiceUpdate,
  retryPaymentUpdate,
  voidInvoiceUpdate,
} from '../../workflows/messages';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { ApiError, notFound } from '../errors';
import { parseBody } from '../schemas/common';
import { InvoiceUpdateBody } from '../schemas/payments';
import { storedInvoice } from '../serializers/invoice';
import { withPaymentFields } from '../serializers/invoice-payment';
import { loadStoredInvoiceExtras, publicBaseUrl } from '../services/invoice-extras';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTION_CODES = new Set<string>(Object.values(INVOICE_ACTION_ERRORS));

function notAllowed(code: string, message?: string): ApiError {
  return new ApiError(httpStatusOf(code), code, message ?? code);
}

type Outcome = 'done' | 'not_running';

export function invoiceActionRoutes(ctx: RouteContext): Router {
  const r = Router();

  /** Runs the update on the invoice's workflow; 'not_running' when there is none (or it has completed). */
  async function throughWorkflow(invoiceId: string, run: (h: ReturnType<RouteContext['temporal']['workflow']['getHandle']>) => Promise<unknown>): Promise<Outcome> {
    try {
      await run(ctx.temporal.workflow.getHandle(invoiceWorkflowId(invoiceId)));
      return 'done';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'not_running';
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type && ACTION_CODES.has(err.cause.type)) {
        throw notAllowed(err.cause.type, err.cause.message);
      }
      throw err;
    }
  }

  /** The invoice as GET /invoices/:id answers it (charge fees' lago_item_id, FX fields, file_url, payment fields). */
  async function respond(req: Request, res: Response, organizationId: string, invoiceId: string): Promise<void> {
    const inv = await getInvoice(ctx.db, organizationId, invoiceId);
    if (!inv) throw notFound('invoice');
    await respondWith(req, res, organizationId, inv);
  }

  async function respondWith(req: Request, res: Response, organizationId: string, inv: InvoiceRecord): Promise<void> {
    const [customers, subscriptions, payment, metricIds, extras] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, [inv.customerId]),
      getSubscriptionsByIds(ctx.db, organizationId, [inv.subscriptionId]),
      invoicePaymentFields(ctx.db, organizationId, [inv.id]),
      metricIdsByCharge(ctx.db, organizationId, inv.fees.map((f) => f.chargeId).filter((c): c is string => c !== null)),
      loadStoredInvoiceExtras(ctx.db, organizationId, [inv.id], publicBaseUrl(req)),
    ]);
    res.json({
      invoice: withPaymentFields(storedInvoice(inv, customers.get(inv.customerId), subscriptions[0], metricIds, defaultTimezoneOf(res), extras.get(inv.id)), payment.get(inv.id)),
    });
  }

  async function existing(organizationId: string, invoiceId: string) {
    if (!UUID.test(invoiceId)) throw notFound('invoice');
    const inv = await getInvoice(ctx.db, organizationId, invoiceId);
    if (!inv) throw notFound('invoice');
    return inv;
  }

  for (const [path, update] of [['refresh', refreshInvoiceUpdate], ['finalize', finalizeInvoiceUpdate]] as const) {
    r.put(`/invoices/:lago_id/${path}`, async (req, res) => {
      const organizationId = orgId(res);
      const inv = await existing(organizationId, req.params.lago_id);
      if (inv.status !== 'draft') throw notAllowed(INVOICE_ACTION_ERRORS.notDraft);
      const outcome = await throughWorkflow(inv.id, (h) => h.executeUpdate(update));
      if (outcome === 'not_running') throw new ApiError(409, 'invoice_workflow_not_running', 'The draft has no running invoice workflow');
      await respond(req, res, organizationId, inv.id);
    });
  }

  r.post('/invoices/:lago_id/void', async (req, res) => {
    const organizationId = orgId(res);
    const inv = await existing(organizationId, req.params.lago_id);
    const outcome = await throughWorkflow(inv.id, (h) => h.executeUpdate(voidInvoiceUpdate));
    if (outcome === 'not_running') {
      const result = await ctx.db.transaction((trx) => voidInvoiceRow(trx, organizationId, inv.id));
      if (result !== 'voided') throw notAllowed(INVOICE_ACTION_ERRORS.notVoidable);
    } else if (!(await invoicePaymentFields(ctx.db, organizationId, [inv.id])).get(inv.id)?.voided) {
      throw notAllowed(INVOICE_ACTION_ERRORS.notVoidable);
    }
    await respond(req, res, organizationId, inv.id);
  });

  r.post('/invoices/:lago_id/retry_payment', async (req, res) => {
    const organizationId = orgId(res);
    const inv = await existing(organizationId, req.params.lago_id);
    if (inv.status !== 'finalized') throw notAllowed(INVOICE_ACTION_ERRORS.paymentNotRetryable);
    const outcome = await throughWorkflow(inv.id, (h) => h.executeUpdate(retryPaymentUpdate));
    if (outcome === 'not_running') throw notAllowed(INVOICE_ACTION_ERRORS.paymentNotRetryable, 'Collection of this invoice has ended');
    await respond(req, res, organizationId, inv.id);
  });

  // ops13c (issue 13): Lago's lose_dispute (db/repositories/invoice-disputes.ts): finalized invoices only (405
  // not_disputable), the first timestamp kept, collection stopped, invoice.payment_dispute_lost sent once.
  r.post('/invoices/:lago_id/lose_dispute', async (req, res) => {
    const organizationId = orgId(res);
    const inv = await existing(organizationId, req.params.lago_id);
    const outcome = await ctx.db.transaction((trx) => markInvoiceDisputeLost(trx, organizationId, inv.id, new Date()));
    if (outcome === 'not_found') throw notFound('invoice');
    if (outcome === 'not_disputable') throw notAllowed(ERROR_CODES.not_disputable, 'Only a finalized invoice can lose a payment dispute');
    await respond(req, res, organizationId, inv.id);
  });

  // del13 (issue 13): Lago's Invoices::DeleteService (db/repositories/invoice-deletion.ts): a draft becomes a tombstone,
  // answered once with status deleted, then 404 everywhere. Decided by Postgres alone (row lock + status = 'draft'),
  // so a delete racing the grace-period end has one winner; the invoice workflow's finalization then finds the
  // tombstone and does nothing (workflows/invoice.ts). 405 not_deletable for any other status, as Lago.
  r.delete('/invoices/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const outcome = await ctx.db.transaction((trx) => deleteDraftInvoice(trx, organizationId, req.params.lago_id, new Date()));
    if (outcome === 'not_found') throw notFound('invoice');
    if (outcome === 'not_deletable') throw notAllowed(ERROR_CODES.not_deletable, 'Only a draft invoice can be deleted; void a finalized one instead');
    const inv = await getInvoiceAnyStatus(ctx.db, organizationId, req.params.lago_id);
    if (!inv) throw notFound('invoice');
    await respondWith(req, res, organizationId, inv);
  });

  r.put('/invoices/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const input = parseBody(InvoiceUpdateBody, req.body).invoice;
    const inv = await existing(organizationId, req.params.lago_id);
    if (input.payment_status !== undefined && inv.status !== 'finalized') throw notAllowed('invoice_not_finalized', 'payment_status can only be set on a finalized invoice');
    await ctx.db.transaction((trx) => updateInvoiceFields(trx, organizationId, inv.id, { paymentStatus: input.payment_status, metadata: input.metadata }));
    if (input.payment_status === 'succeeded') {
      try {
        await ctx.temporal.workflow.getHandle(invoiceWorkflowId(inv.id)).signal(invoicePaymentSignal, {
          source: 'manual',
          eventId: `invoice:${inv.id}:payment_status:succeeded`,
          kind: 'succeeded',
          invoicePaymentStatus: 'succeeded',
          providerPaymentId: null,
        });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) ctx.logger.warn('Signalling the invoice workflow after PUT /invoices failed', { error: String(err) });
      }
    }
    await respond(req, res, organizationId, inv.id);
  });

  return r;
}
