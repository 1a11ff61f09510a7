// Lago's regroup_paid_fees on charges (issue 11): null (default) or 'invoice' — the paid fees of a pay-in-advance,
// non-invoiceable charge are grouped into one invoice at the end of the billing period (activities/regroup-paid-fees.ts).
// The regrouping invoice is unique like every period invoice: (subscription, period, invoice_type 'advance_charges',
// source_key ''); each fee names it in pay_in_advance_fees.regrouped_invoice_id (existing column), so a fee is
// regrouped once.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('charges', (t) => {
    t.text('regroup_paid_fees');
  });
  await knex.raw(`ALTER TABLE charges ADD CONSTRAINT charges_regroup_paid_fees_check CHECK (regroup_paid_fees IS NULL OR regroup_paid_fees = 'invoice')`);
  // The fees a close regroups: paid, on no invoice, by subscription.
  await knex.raw(`CREATE INDEX pay_in_advance_fees_regroup_idx ON pay_in_advance_fees (organization_id, subscription_id) WHERE payment_status = 'succeeded' AND invoice_id IS NULL AND regrouped_invoice_id IS NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS pay_in_advance_fees_regroup_idx');
  await knex.schema.alterTable('charges', (t) => {
    t.dropColumn('regroup_paid_fees');
  });
}
