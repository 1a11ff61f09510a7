// ops13d (issue 13): Lago's wallet alerts, the pairing of outbound with inbound wallet transactions (consumptions /
// fundings), and the customer's payment methods.
// - wallet_alerts: one per (wallet, alert_type) and per (wallet, code), Lago's rule; thresholds jsonb
//   [{code, value, recurring}] (decimal strings, decreasing). previous_value: what the last evaluation saw.
// - wallet_alert_triggers: one row per (alert, cause, threshold level) crossed: the cause is the wallet transaction
//   that moved the balance (`tx:<id>`) or the ongoing-balance confirmation (`ongoing:<wallet updated_at>`), so a
//   repeated evaluation of one change never records it twice. Written with the alert.triggered webhook (outbox).
// - wallet_transaction_consumptions: which inbound transaction funded how much of an outbound one (FIFO by
//   settlement, written in the movement's transaction). No backfill: outbound movements older than this table
//   have no rows; db/repositories/wallet-traces.ts accounts for them (the oldest inbound credits are taken as
//   spent first, as FIFO would have spent them).
// - customer_payment_methods: the customer's provider payment methods (Lago's PaymentMethodObject), at most one
//   default per customer (partial unique index), soft-deleted.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('wallet_alerts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('wallet_id').notNullable().references('wallets.id').onDelete('CASCADE');
    t.text('alert_type').notNullable();
    t.text('code').notNullable();
    t.text('name');
    t.jsonb('thresholds').notNullable();
    t.decimal('previous_value', 40, 15).notNullable().defaultTo(0);
    t.timestamp('last_processed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['wallet_id', 'code']);
    t.unique(['wallet_id', 'alert_type']);
    t.index(['organization_id', 'wallet_id']);
  });
  await knex.raw(`ALTER TABLE wallet_alerts ADD CONSTRAINT wallet_alerts_type_check CHECK (alert_type IN
    ('wallet_balance_amount', 'wallet_credits_balance', 'wallet_ongoing_balance_amount', 'wallet_credits_ongoing_balance'))`);
  await knex.schema.createTable('wallet_alert_triggers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('alert_id').notNullable().references('wallet_alerts.id').onDelete('CASCADE');
    t.uuid('wallet_id').notNullable();
    t.text('cause_key').notNullable();
    t.text('threshold_code');
    t.decimal('threshold_value', 40, 15).notNullable();
    t.boolean('threshold_recurring').notNullable();
    t.decimal('previous_value', 40, 15).notNullable();
    t.decimal('crossed_value', 40, 15).notNullable();
    t.timestamp('triggered_at', { useTz: true }).notNullable();
    t.unique(['alert_id', 'cause_key', 'threshold_value']);
  });
  await knex.schema.createTable('wallet_transaction_consumptions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('wallet_id').notNullable().references('wallets.id').onDelete('CASCADE');
    t.uuid('inbound_transaction_id').notNullable().references('wallet_transactions.id');
    t.uuid('outbound_transaction_id').notNullable().references('wallet_transactions.id');
    t.bigInteger('amount_cents').notNullable();
    t.decimal('credit_amount', 40, 15).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['inbound_transaction_id', 'outbound_transaction_id']);
    t.index(['outbound_transaction_id']);
  });
  await knex.raw('ALTER TABLE wallet_transaction_consumptions ADD CONSTRAINT wallet_transaction_consumptions_positive CHECK (amount_cents > 0)');
  await knex.schema.createTable('customer_payment_methods', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.text('provider_type').notNullable();
    t.text('provider_code');
    t.text('provider_method_id').notNullable();
    t.boolean('is_default').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.unique(['organization_id', 'provider_method_id']);
    t.index(['organization_id', 'customer_id']);
  });
  await knex.raw('CREATE UNIQUE INDEX customer_payment_methods_one_default ON customer_payment_methods (customer_id) WHERE is_default AND deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('customer_payment_methods');
  await knex.schema.dropTableIfExists('wallet_transaction_consumptions');
  await knex.schema.dropTableIfExists('wallet_alert_triggers');
  await knex.schema.dropTableIfExists('wallet_alerts');
}
