// Lago's termination options stored on the subscription (migration 20261201002300): on_termination_invoice and
// on_termination_credit_note. NULL = not set (Lago's default applies: generate; credit for pay-in-advance plans).
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type OnTerminationInvoiceOption = 'generate' | 'skip';
export type OnTerminationCreditNoteOption = 'credit' | 'refund' | 'skip';

export interface StoredTerminationOptions {
  onTerminationInvoice: OnTerminationInvoiceOption | null;
  onTerminationCreditNote: OnTerminationCreditNoteOption | null;
}

/** The subscription's stored options; null when the subscription is not this organization's. */
export async function getTerminationOptions(db: Db, organizationId: string, subscriptionId: string): Promise<StoredTerminationOptions | null> {
  const row = await db('subscriptions').where({ organization_id: organizationId, id: subscriptionId }).first('on_termination_invoice', 'on_termination_credit_note');
  return row ? { onTerminationInvoice: row.on_termination_invoice ?? null, onTerminationCreditNote: row.on_termination_credit_note ?? null } : null;
}

/** Sets the given options (an absent one is left as it is). */
export async function setTerminationOptions(db: Db, organizationId: string, subscriptionId: string, options: Partial<StoredTerminationOptions>): Promise<void> {
  const patch: Record<string, string | null> = {};
  if (options.onTerminationInvoice !== undefined) patch.on_termination_invoice = options.onTerminationInvoice;
  if (options.onTerminationCreditNote !== undefined) patch.on_termination_credit_note = options.onTerminationCreditNote;
  if (Object.keys(patch).length === 0) return;
  await db('subscriptions').where({ organization_id: organizationId, id: subscriptionId }).update(patch);
}
