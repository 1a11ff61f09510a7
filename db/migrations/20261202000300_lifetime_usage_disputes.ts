// ops13c (issue 13): what Lago's lifetime usage and lost payment disputes need to store.
// - subscription_lifetime_usages: per subscription, the usage amount billed before Meterline that the client reports
//   (Lago's external_historical_usage_amount_cents, PUT /subscriptions/:id/lifetime_usage). One row per subscription
//   (primary key), written only by db/repositories/lifetime-usage.ts; the invoiced and current amounts are computed
//   from invoices and usage on every read, never stored.
// - invoices.payment_dispute_lost_at: set once by POST /invoices/:id/lose_dispute (Lago's field), never cleared.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('subscription_lifetime_usages', (t) => {
    t.uuid('subscription_id').primary().references('id').inTable('subscriptions').onDelete('CASCADE');
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.bigInteger('historical_usage_amount_cents').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE subscription_lifetime_usages ADD CONSTRAINT subscription_lifetime_usages_historical_check CHECK (historical_usage_amount_cents >= 0)');
  await knex.schema.alterTable('invoices', (t) => {
    t.timestamp('payment_dispute_lost_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('payment_dispute_lost_at');
  });
  await knex.schema.dropTable('subscription_lifetime_usages');
}
