// DELETE /invoices/:lago_id (issue 13, del13; Lago's Invoices::DeleteService): a draft becomes a tombstone.
//
// The row stays, with status 'deleted' and deleted_at (migration 20261204000100): it keeps the period's unique key, so
// every path that claims the period's invoice finds the tombstone instead of creating a new one — a re-run close
// (claimPeriodInvoice, then `status !== 'draft'` → nothing to do), the sweeper (billedPeriodsOf counts it: the period
// was billed), a refresh or a late event (refreshDraftInvoice / replaceDraftFees write drafts only; the late-event
// notifier reads drafts only), the grace-period end (finalizeInvoice: `status !== 'draft'` → returned as it is; it
// never takes a number, a CHECK says so). Client-facing reads leave it out (invoices.ts invoiceQuery; fee lists).
//
// What a draft holds is released by the status alone: coupons, credit notes and wallets are consumed at finalization
// (activities/credits.ts settleCreditsAtFinalization, wallet-consumption.ts), never by a draft; the wallets' ongoing
// balance counts drafts only (wallets.ts draftInvoicesTotalOfCustomer); a progressive-billing draft no longer lowers
// the period's final invoice (thresholds.ts progressiveBilledAmountCents). The draft's fees stay on the tombstone and
// count as billed for whatever asks "was this period's fee already invoiced" (fixed charges in advance), so the
// deleted period is billed by no later invoice either.
//
// Concurrency: the row is locked FOR UPDATE, then updated only while it is still a draft. Finalization locks the same
// row (lockInvoice / claimPeriodInvoice) and numbers it with `WHERE status = 'draft'`: whichever commits first wins,
// the other sees the new status after the lock — a finalized invoice is not deletable (405), a deleted one is not
// finalized (returned as it is).
import type { Knex } from 'knex';
import { enqueueWebhook } from './webhooks';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type DeleteDraftOutcome = 'deleted' | 'not_found' | 'not_deletable';

/** Draft → deleted in `trx`, with Lago's invoice.deleted webhook; 'not_found' for an unknown or deleted invoice. */
export async function deleteDraftInvoice(trx: Knex.Transaction, organizationId: string, invoiceId: string, now: Date): Promise<DeleteDraftOutcome> {
  if (!UUID_RE.test(invoiceId)) return 'not_found';
  const row: { status: string } | undefined = await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).forUpdate().first('status');
  if (!row || row.status === 'deleted') return 'not_found';
  if (row.status !== 'draft') return 'not_deletable';
  await trx('invoices').where({ organization_id: organizationId, id: invoiceId, status: 'draft' }).update({ status: 'deleted', deleted_at: now, updated_at: now });
  await enqueueWebhook(trx, { organizationId, webhookType: 'invoice.deleted', objectType: 'invoice', objectId: invoiceId, uniqueKey: `invoice.deleted:${invoiceId}` });
  return 'deleted';
}
