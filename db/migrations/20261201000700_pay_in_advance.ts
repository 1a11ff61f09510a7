// Pay in advance (issue 11): fees of pay-in-advance charges, one per event, and the per-event invoices.
//
// - pay_in_advance_fees: one row per (charge, event), unique on (organization_id, charge_id, transaction_id), so a
//   retried or repeated billing of the same event never writes a second fee. `invoice_id` is the event's own
//   invoice (charge `invoiceable: true`), NULL for a fee without invoice (`invoiceable: false`, Lago's instant
//   fee); `regrouped_invoice_id` is the period-end invoice that regrouped it (`regroup_paid_fees: invoice`).
// - invoices.source_key: what makes an invoice unique beyond (subscription, period, type). '' for every period
//   invoice (unchanged behaviour); the fee's id for a per-event invoice (type `in_advance_charge`, shown to Lago
//   clients as `subscription`), so two events of one period get two invoices. The unique key becomes
//   (subscription_id, period_start, period_end, invoice_type, source_key).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pay_in_advance_fees', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    t.uuid('charge_id').notNullable();
    t.text('metric_code').notNullable();
    t.text('transaction_id').notNullable();
    t.timestamp('event_timestamp', { useTz: true }).notNullable();
    t.timestamp('period_start', { useTz: true }).notNullable();
    t.timestamp('period_end', { useTz: true }).notNullable();
    t.integer('filter_index');
    t.jsonb('grouped_by').notNullable().defaultTo('{}');
    t.text('display_name').notNullable();
    t.decimal('units', 40, 15).notNullable();
    t.decimal('unit_amount', 60, 30).notNullable();
    t.decimal('precise_amount', 60, 30).notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.text('proration_ratio');
    t.boolean('invoiceable').notNullable();
    t.uuid('invoice_id').references('invoices.id');
    t.uuid('regrouped_invoice_id').references('invoices.id');
    t.text('payment_status').notNullable().defaultTo('pending');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'charge_id', 'transaction_id']);
    t.index(['organization_id', 'subscription_id', 'period_start']);
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.text('source_key').notNullable().defaultTo('');
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.dropUnique(['subscription_id', 'period_start', 'period_end', 'invoice_type']);
    t.unique(['subscription_id', 'period_start', 'period_end', 'invoice_type', 'source_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pay_in_advance_fees');
  await knex('invoices').where('invoice_type', 'in_advance_charge').del();
  await knex.schema.alterTable('invoices', (t) => {
    t.dropUnique(['subscription_id', 'period_start', 'period_end', 'invoice_type', 'source_key']);
    t.unique(['subscription_id', 'period_start', 'period_end', 'invoice_type']);
    t.dropColumn('source_key');
  });
}
