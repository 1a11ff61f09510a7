// failed13 (issue 13): Lago's ErrorDetail of an invoice, and the `failed` status they explain. A finalization that a
// tax engine refused (a permanent error: an address it cannot place) marks the draft `failed` with one error detail
// (error_code `tax_error`, details {tax_error, tax_error_message}, Lago's Invoices::ProviderTaxes shape), in one
// transaction with Lago's customer.tax_provider_error webhook. No number is taken. A retry reopens it (deletes the
// details, back to draft) inside the finalization's transaction, so a failing retry leaves the old details until its
// own failure replaces them. Every query is scoped by organization_id.
import type { Knex } from 'knex';
import { lockInvoice, type LockedInvoice } from './invoices';
import { getCustomersByIds } from './customers';
import { enqueueWebhook } from './webhooks';

type Db = Knex | Knex.Transaction;

export interface InvoiceErrorDetail {
  id: string;
  errorCode: 'tax_error';
  details: Record<string, string>;
}

/** Who refused and why: the webhook's tax_provider / tax_provider_code and the provider's own error code and message. */
export interface TaxFailure {
  provider: string;
  providerCode: string;
  errorCode: string;
  message: string;
}

/**
 * A draft (or failed) invoice → `failed` with this failure as its only error detail, and the customer.tax_provider_error
 * webhook once per failure. Returns the invoice as locked, or null when it is neither draft nor failed any more.
 */
export async function markInvoiceTaxFailed(trx: Knex.Transaction, organizationId: string, invoiceId: string, f: TaxFailure): Promise<LockedInvoice | null> {
  const invoice = await lockInvoice(trx, organizationId, invoiceId);
  if (!invoice || (invoice.status !== 'draft' && invoice.status !== 'failed')) return null;
  await trx('invoice_error_details').where({ organization_id: organizationId, invoice_id: invoiceId }).delete();
  const [detail] = await trx('invoice_error_details')
    .insert({ organization_id: organizationId, invoice_id: invoiceId, error_code: 'tax_error', details: JSON.stringify({ tax_error: f.errorCode, tax_error_message: f.message }) })
    .returning('id');
  await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).update({ status: 'failed', updated_at: trx.fn.now() });
  const customer = (await getCustomersByIds(trx, organizationId, [invoice.customerId])).get(invoice.customerId);
  await enqueueWebhook(trx, {
    organizationId,
    webhookType: 'customer.tax_provider_error',
    objectType: 'tax_provider_customer_error',
    objectId: invoice.customerId,
    object: {
      lago_customer_id: invoice.customerId,
      external_customer_id: customer?.externalId ?? null,
      tax_provider: f.provider,
      tax_provider_code: f.providerCode,
      provider_error: { message: f.message, error_code: f.errorCode },
    },
    // One webhook per failed attempt (the detail's id), none for a re-run of the same attempt (rolled back).
    uniqueKey: `customer.tax_provider_error:${invoiceId}:${String((detail as { id: string }).id)}`,
  });
  return { ...invoice, status: 'failed' };
}

/**
 * A failed invoice locked by `trx` → draft, its error details discarded (Lago: retry discards them). `retryOf`: the id
 * of the error detail this retry answers (the retry's business key), null when the invoice was not failed.
 */
export async function reopenFailedInvoice(trx: Knex.Transaction, invoice: LockedInvoice): Promise<{ invoice: LockedInvoice; retryOf: string | null }> {
  if (invoice.status !== 'failed') return { invoice, retryOf: null };
  const scope = { organization_id: invoice.organizationId, invoice_id: invoice.id };
  // markInvoiceTaxFailed keeps at most one detail per invoice: the one deleted here is the one this retry answers.
  const [last] = (await trx('invoice_error_details').where(scope).delete().returning('id')) as { id: string }[];
  await trx('invoices').where({ organization_id: invoice.organizationId, id: invoice.id, status: 'failed' }).update({ status: 'draft', updated_at: trx.fn.now() });
  return { invoice: { ...invoice, status: 'draft' }, retryOf: last?.id ?? null };
}

/** The error details of each invoice (Lago's ErrorDetailObject order: oldest first). */
export async function errorDetailsOfInvoices(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, InvoiceErrorDetail[]>> {
  const out = new Map<string, InvoiceErrorDetail[]>();
  if (invoiceIds.length === 0) return out;
  const rows: { id: string; invoice_id: string; error_code: 'tax_error'; details: Record<string, string> }[] = await db('invoice_error_details')
    .where({ organization_id: organizationId })
    .whereIn('invoice_id', invoiceIds)
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .select('id', 'invoice_id', 'error_code', 'details');
  for (const r of rows) {
    const list = out.get(r.invoice_id) ?? [];
    list.push({ id: r.id, errorCode: r.error_code, details: r.details });
    out.set(r.invoice_id, list);
  }
  return out;
}
