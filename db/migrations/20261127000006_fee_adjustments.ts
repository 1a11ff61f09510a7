// Late-event adjustments: a fee of type `adjustment` on a later invoice re-bills usage of an already
// finalized period (see billing/invoice.ts adjustmentFees and activities/invoices.ts).
// - adjusts_invoice_id: the finalized invoice whose period is adjusted (null for every other fee).
// - adjusts_period_start / adjusts_period_end: that invoice's period [start, end) (also the fee's from/to).
// - adjusts_fee_type: which line of that period the adjustment corrects: charge | charge_minimum |
//   minimum_commitment (together with charge_id, filter_index and grouped_by it names the line).
// The partial index serves "what has already been adjusted for these invoices" at every period close.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('fees', (t) => {
    t.uuid('adjusts_invoice_id').nullable().references('invoices.id');
    t.timestamp('adjusts_period_start', { useTz: true }).nullable();
    t.timestamp('adjusts_period_end', { useTz: true }).nullable();
    t.text('adjusts_fee_type').nullable();
  });
  await knex.raw('CREATE INDEX fees_adjusts_invoice_idx ON fees (adjusts_invoice_id) WHERE adjusts_invoice_id IS NOT NULL');
  // Draft lookups by subscription (the API's late-event notifier) and the finalized look-back.
  await knex.raw('CREATE INDEX invoices_subscription_status_idx ON invoices (subscription_id, status, period_start)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS invoices_subscription_status_idx');
  await knex.raw('DROP INDEX IF EXISTS fees_adjusts_invoice_idx');
  await knex.schema.alterTable('fees', (t) => {
    t.dropColumn('adjusts_fee_type');
    t.dropColumn('adjusts_period_end');
    t.dropColumn('adjusts_period_start');
    t.dropColumn('adjusts_invoice_id');
  });
}
