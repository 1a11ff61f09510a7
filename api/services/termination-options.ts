// Lago's termination options on the subscription (issue 11): `on_termination_invoice` (generate | skip) and
// `on_termination_credit_note` (credit | refund | skip), given on POST / PUT /subscriptions or a DELETE's query,
// stored on the row (db/repositories/termination-options.ts) and read by the workflow whenever the subscription ends
// (workflows/termination-options.ts). The Subscription object shows them: on_termination_invoice defaults to
// generate, on_termination_credit_note to credit. Lago's text says the latter is null for plans in arrears, but its
// 1.51 schema's enum has no null (a null fails the official client's validation), so Meterline shows the stored
// value or credit for every plan; the option is ignored for plans in arrears (no advance fee to credit).
// Lago 1.51's OpenAPI lists them on DELETE's query and on the Subscription object only; accepting them on POST / PUT
// is Meterline's (Lago's API stores them on the subscription; setting them ahead lets an `ending_at` use them).
import type { Knex } from 'knex';
import type { SubscriptionRecord } from '../../db/repositories/subscriptions';
import { setTerminationOptions, type OnTerminationCreditNoteOption, type OnTerminationInvoiceOption } from '../../db/repositories/termination-options';

export interface TerminationOptionsInput {
  on_termination_invoice?: OnTerminationInvoiceOption;
  on_termination_credit_note?: OnTerminationCreditNoteOption;
}

/** Stores the given options; returns the record with them (unchanged when none is given). */
export async function storeTerminationOptions(db: Knex, s: SubscriptionRecord, input: TerminationOptionsInput): Promise<SubscriptionRecord> {
  if (input.on_termination_invoice === undefined && input.on_termination_credit_note === undefined) return s;
  await setTerminationOptions(db, s.organizationId, s.id, { onTerminationInvoice: input.on_termination_invoice, onTerminationCreditNote: input.on_termination_credit_note });
  return {
    ...s,
    onTerminationInvoice: input.on_termination_invoice ?? s.onTerminationInvoice ?? null,
    onTerminationCreditNote: input.on_termination_credit_note ?? s.onTerminationCreditNote ?? null,
  };
}

/** The Subscription object's fields (see the header). */
export function terminationOptionFields(s: SubscriptionRecord): { on_termination_invoice: OnTerminationInvoiceOption; on_termination_credit_note: OnTerminationCreditNoteOption } {
  return {
    on_termination_invoice: s.onTerminationInvoice ?? 'generate',
    on_termination_credit_note: s.onTerminationCreditNote ?? 'credit',
  };
}
