// Suspensions of subscriptions by the dunning consequence `suspend_subscription` (issue 10). A subscription is
// suspended while one of its rows is open; a row closes (resumed_at) once its invoice is paid or voided. Each
// transition is also a webhook-ready payment_events row on its business key (`subscription:<id>:suspended:<invoice>`,
// `…:resumed:<invoice>`): Lago has no suspension webhook, so these are records only, like the dunning attempts.
import type { Knex } from 'knex';
import { insertPaymentEvent } from './payments';

type Db = Knex | Knex.Transaction;

export interface SuspensionState {
  /** The invoices whose dunning ran out and that are still unpaid, oldest first (empty: not suspended). */
  invoiceIds: string[];
  /** When the oldest open suspension began (ISO UTC), or null. */
  since: string | null;
  /** Invoices whose suspension this call closed (they were paid or voided meanwhile). */
  resumedInvoiceIds: string[];
}

/** Opens the suspension of a subscription for an invoice (once: unique on subscription and invoice), with its record. */
export async function suspendSubscriptionForInvoice(trx: Knex.Transaction, organizationId: string, subscriptionId: string, invoiceId: string, attempts: number): Promise<void> {
  await trx('subscription_suspensions')
    .insert({ organization_id: organizationId, subscription_id: subscriptionId, invoice_id: invoiceId })
    .onConflict(['subscription_id', 'invoice_id'])
    .ignore();
  await insertPaymentEvent(trx, {
    organizationId,
    invoiceId,
    eventType: 'subscription.suspended',
    dedupeKey: `subscription:${subscriptionId}:suspended:${invoiceId}`,
    payload: { subscription_id: subscriptionId, reason: 'dunning_exhausted', attempts },
  });
}

/**
 * The subscription's suspension as Postgres has it, after closing the rows whose invoice was paid (payment_status
 * succeeded) or voided since (each closed row gets its `subscription.resumed` record, in the same transaction).
 */
export async function syncSubscriptionSuspension(db: Knex, organizationId: string, subscriptionId: string): Promise<SuspensionState> {
  return db.transaction(async (trx) => {
    const open: { id: string; invoice_id: string; suspended_at: Date; payment_status: string; voided_at: Date | null }[] = await trx('subscription_suspensions as s')
      .join('invoices as i', 'i.id', 's.invoice_id')
      .where({ 's.organization_id': organizationId, 's.subscription_id': subscriptionId })
      .whereNull('s.resumed_at')
      .orderBy([{ column: 's.suspended_at' }, { column: 's.invoice_id' }])
      .forUpdate()
      .select('s.id', 's.invoice_id', 's.suspended_at', 'i.payment_status', 'i.voided_at');
    const settled = open.filter((r) => r.payment_status === 'succeeded' || r.voided_at !== null);
    const still = open.filter((r) => !settled.includes(r));
    for (const r of settled) {
      await trx('subscription_suspensions').where({ organization_id: organizationId, id: r.id }).update({ resumed_at: trx.fn.now() });
      await insertPaymentEvent(trx, {
        organizationId,
        invoiceId: r.invoice_id,
        eventType: 'subscription.resumed',
        dedupeKey: `subscription:${subscriptionId}:resumed:${r.invoice_id}`,
        payload: { subscription_id: subscriptionId, reason: r.voided_at !== null ? 'invoice_voided' : 'invoice_paid', still_suspended_by: still.map((s) => s.invoice_id) },
      });
    }
    return {
      invoiceIds: still.map((r) => r.invoice_id),
      since: still.length > 0 ? still[0]!.suspended_at.toISOString() : null,
      resumedInvoiceIds: settled.map((r) => r.invoice_id),
    };
  });
}

/** The subscriptions an invoice's open suspension holds (the API wakes their workflows once it is paid). */
export async function subscriptionsSuspendedByInvoice(db: Db, organizationId: string, invoiceId: string): Promise<string[]> {
  const rows: { subscription_id: string }[] = await db('subscription_suspensions')
    .where({ organization_id: organizationId, invoice_id: invoiceId })
    .whereNull('resumed_at')
    .select('subscription_id');
  return rows.map((r) => r.subscription_id);
}
