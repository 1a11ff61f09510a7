// Lago's /add_ons (create, list, get, update, delete by code) and POST /invoices (a one-off invoice of add-on fees,
// activities/one-off-invoices.ts), whose payment collection runs in the invoice's workflow `invoice:<id>`.
import { Router } from 'express';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { createOneOffInvoice } from '../../activities/one-off-invoices';
import { createAddOn, deleteAddOn, DuplicateAddOnCodeError, getAddOnByCode, listAddOnsPage, updateAddOn, type AddOnRecord } from '../../db/repositories/add-ons';
import { getCustomerByExternalId, getCustomersByIds } from '../../db/repositories/customers';
import { getInvoice } from '../../db/repositories/invoices';
import { invoicePaymentFields } from '../../db/repositories/payments';
import { invoiceWorkflowId } from '../../contracts/workflows';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { AddOnCreateBody, AddOnUpdateBody, OneOffInvoiceBody } from '../schemas/credits';
import { storedInvoice } from '../serializers/invoice';
import { withPaymentFields } from '../serializers/invoice-payment';
import { serializeTax } from './taxes';
import { resolveTaxCodes } from './tax-codes';
import { loadStoredInvoiceExtras, publicBaseUrl } from '../services/invoice-extras';

/** Lago AddOnObject. */
export function serializeAddOn(a: AddOnRecord) {
  return {
    lago_id: a.id,
    name: a.name,
    invoice_display_name: a.invoiceDisplayName,
    code: a.code,
    amount_cents: a.amountCents,
    amount_currency: a.amountCurrency,
    description: a.description,
    created_at: iso(a.createdAt),
    taxes: a.taxes.map(serializeTax),
  };
}

export function addOnRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/add_ons', async (req, res) => {
    const a = parseBody(AddOnCreateBody, req.body).add_on;
    const taxes = await resolveTaxCodes(ctx.db, orgId(res), a.tax_codes ?? [], 'tax_codes');
    try {
      const created = await createAddOn(
        ctx.db,
        orgId(res),
        { code: a.code, name: a.name, invoiceDisplayName: a.invoice_display_name ?? null, description: a.description ?? null, amountCents: a.amount_cents, amountCurrency: a.amount_currency },
        taxes.map((t) => t.id),
      );
      res.json({ add_on: serializeAddOn(created) });
    } catch (err) {
      if (err instanceof DuplicateAddOnCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.get('/add_ons', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { addOns, totalCount } = await listAddOnsPage(ctx.db, orgId(res), page, per_page);
    res.json({ add_ons: addOns.map(serializeAddOn), meta: paginationMeta(page, per_page, totalCount) });
  });

  r.get('/add_ons/:code', async (req, res) => {
    const a = await getAddOnByCode(ctx.db, orgId(res), req.params.code);
    if (!a) throw notFound('add_on');
    res.json({ add_on: serializeAddOn(a) });
  });

  r.put('/add_ons/:code', async (req, res) => {
    const a = parseBody(AddOnUpdateBody, req.body).add_on;
    const taxes = a.tax_codes === undefined ? undefined : await resolveTaxCodes(ctx.db, orgId(res), a.tax_codes, 'tax_codes');
    try {
      const updated = await updateAddOn(
        ctx.db,
        orgId(res),
        req.params.code,
        {
          ...(a.code !== undefined ? { code: a.code } : {}),
          ...(a.name !== undefined ? { name: a.name } : {}),
          ...(a.invoice_display_name !== undefined ? { invoiceDisplayName: a.invoice_display_name ?? null } : {}),
          ...(a.description !== undefined ? { description: a.description ?? null } : {}),
          ...(a.amount_cents !== undefined ? { amountCents: a.amount_cents } : {}),
          ...(a.amount_currency !== undefined ? { amountCurrency: a.amount_currency } : {}),
        },
        taxes?.map((t) => t.id),
      );
      if (!updated) throw notFound('add_on');
      res.json({ add_on: serializeAddOn(updated) });
    } catch (err) {
      if (err instanceof DuplicateAddOnCodeError) throw validationError({ code: ['value_already_exist'] });
      throw err;
    }
  });

  r.delete('/add_ons/:code', async (req, res) => {
    const a = await deleteAddOn(ctx.db, orgId(res), req.params.code);
    if (!a) throw notFound('add_on');
    res.json({ add_on: serializeAddOn(a) });
  });

  // One-off invoice (Lago InvoiceOneOffCreateInput): created finalized; collection starts in its workflow.
  r.post('/invoices', async (req, res) => {
    const body = parseBody(OneOffInvoiceBody, req.body).invoice;
    const organizationId = orgId(res);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, body.external_customer_id);
    if (!customer) throw notFound('customer');
    const fees = [];
    for (const [i, f] of body.fees.entries()) {
      fees.push({
        addOnCode: f.add_on_code,
        invoiceDisplayName: f.invoice_display_name,
        unitAmountCents: f.unit_amount_cents,
        units: f.units,
        description: f.description,
        fromDatetime: f.from_datetime,
        toDatetime: f.to_datetime,
        ...(f.tax_codes !== undefined ? { taxes: await resolveTaxCodes(ctx.db, organizationId, f.tax_codes, `fees[${i}].tax_codes`) } : {}),
      });
    }
    const locked = await createOneOffInvoice(ctx.db, { organizationId, customer, currency: body.currency, fees, now: new Date() });
    try {
      await ctx.temporal.workflow.start('invoiceWorkflow', {
        taskQueue: ctx.taskQueue,
        workflowId: invoiceWorkflowId(locked.id),
        args: [{ version: 1, organizationId, invoiceId: locked.id, gracePeriodDays: 0 }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const inv = (await getInvoice(ctx.db, organizationId, locked.id))!;
    const [customers, extras, payment] = await Promise.all([
      getCustomersByIds(ctx.db, organizationId, [inv.customerId]),
      loadStoredInvoiceExtras(ctx.db, organizationId, [inv.id], publicBaseUrl(req)),
      invoicePaymentFields(ctx.db, organizationId, [inv.id]),
    ]);
    res.json({ invoice: withPaymentFields(storedInvoice(inv, customers.get(inv.customerId), undefined, new Map(), defaultTimezoneOf(res), extras.get(inv.id)), payment.get(inv.id)) });
  });

  return r;
}
