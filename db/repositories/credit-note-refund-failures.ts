// A credit note's refund refused by the payment provider (issue 10, the refund path): the refund row and the note
// become `failed` and Lago's `credit_note.refund_failure` webhook (object `credit_note_payment_provider_refund_error`,
// Lago's CreditNotePaymentProviderRefundError) is enqueued in the SAME transaction (the outbox rule), once per note.
import type { Knex } from 'knex';
import { enqueueWebhook } from './webhooks';

export interface RefundFailure {
  providerPaymentId: string;
  /** The provider's message. */
  message: string;
  /** The provider's error code (e.g. Stripe's `amount_too_large`), when it gave one. */
  code: string | null;
}

export async function recordCreditNoteRefundFailure(db: Knex, organizationId: string, creditNoteId: string, failure: RefundFailure): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('credit_note_refunds').where({ organization_id: organizationId, credit_note_id: creditNoteId }).update({
      status: 'failed',
      provider_payment_id: failure.providerPaymentId,
      provider_refund_id: null,
      error: failure.message,
      updated_at: trx.fn.now(),
    });
    await trx('credit_notes').where({ organization_id: organizationId, id: creditNoteId }).update({ refund_status: 'failed', updated_at: trx.fn.now() });
    const c = await trx('credit_notes as n')
      .join('customers as c', 'c.id', 'n.customer_id')
      .where({ 'n.organization_id': organizationId, 'n.id': creditNoteId })
      .first('c.id as customer_id', 'c.external_id', 'c.provider_customer_id');
    const provider = await trx('payment_providers').where({ organization_id: organizationId }).first('code');
    await enqueueWebhook(trx, {
      organizationId,
      webhookType: 'credit_note.refund_failure',
      objectType: 'credit_note_payment_provider_refund_error',
      objectId: creditNoteId,
      uniqueKey: `credit_note.refund_failure:${creditNoteId}`,
      object: {
        lago_credit_note_id: creditNoteId,
        lago_customer_id: c?.customer_id ?? null,
        external_customer_id: c?.external_id ?? null,
        provider_customer_id: c?.provider_customer_id ?? null,
        payment_provider: 'stripe',
        payment_provider_code: provider?.code ?? null,
        provider_error: { message: failure.message, error_code: failure.code },
      },
    });
  });
}
