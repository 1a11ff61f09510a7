// POST /invoices/:id/lose_dispute (Lago's Invoices::LoseDisputeService; issue 13, ops13c): marks a finalized invoice's
// payment dispute lost. Lago's rule: only a finalized invoice may (a draft or a voided one is 405 not_disputable); the
// first timestamp is kept (a repeated call changes nothing and answers the invoice again); the invoice stops being
// overdue. The change and its `invoice.payment_dispute_lost` webhook (db/repositories/payment-webhooks.ts) commit
// together, once (payment_events' dedupe key). Collection stops: activities/payments.ts attemptPayment refuses an
// invoice whose dispute is lost (invoice_not_payable), and the overdue check no longer flags it.
import type { Knex } from 'knex';
import { insertPaymentEvent } from './payments';

export type LoseDisputeOutcome = 'lost' | 'already_lost' | 'not_disputable' | 'not_found';

export async function markInvoiceDisputeLost(trx: Knex.Transaction, organizationId: string, invoiceId: string, at: Date): Promise<LoseDisputeOutcome> {
  const row: { status: string; voided_at: Date | null; payment_dispute_lost_at: Date | null } | undefined = await trx('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .forUpdate()
    .first('status', 'voided_at', 'payment_dispute_lost_at');
  if (!row) return 'not_found';
  if (row.payment_dispute_lost_at !== null) return 'already_lost';
  if (row.status !== 'finalized' || row.voided_at !== null) return 'not_disputable';
  await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).update({ payment_dispute_lost_at: at, payment_overdue: false, updated_at: trx.fn.now() });
  await insertPaymentEvent(trx, { organizationId, invoiceId, eventType: 'invoice.payment_dispute_lost', dedupeKey: `invoice:${invoiceId}:payment_dispute_lost`, payload: {} });
  return 'lost';
}
