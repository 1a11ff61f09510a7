// Dunning consequence `suspend_subscription` (issue 10). One row per (subscription, invoice whose dunning ran out):
// the subscription is suspended while any of its rows is open (resumed_at null). The row is the business key of
// the suspension (unique: a retried consequence suspends once); resumed_at is set once the invoice is paid or voided.
// Dunning campaigns gain the consequence value (their `consequence` column is text, no check constraint).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('subscription_suspensions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.timestamp('suspended_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resumed_at', { useTz: true });
    t.unique(['subscription_id', 'invoice_id']);
    t.index(['organization_id', 'subscription_id']);
    t.index(['organization_id', 'invoice_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('subscription_suspensions');
}
