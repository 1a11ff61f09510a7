// The ledger's first schema. Money: `*_amount_cents bigint` + `currency char(3)`; precise values `numeric`.
// Every row carries organization_id and every business key is a unique index (idempotency lives here).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pgcrypto');

  await knex.schema.createTable('organizations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.text('slug').notNullable().unique();
    t.integer('invoice_grace_period').notNullable().defaultTo(0);
    t.text('default_timezone').notNullable().defaultTo('UTC');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    // sha256 hex of the key; the key itself is shown once and never stored.
    t.text('key_hash').notNullable().unique();
    t.text('name').notNullable().defaultTo('default');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('billable_metrics', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.text('description');
    t.text('aggregation_type').notNullable();
    t.text('field_name');
    t.boolean('recurring').notNullable().defaultTo(false);
    t.jsonb('filters').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });

  await knex.schema.createTable('plans', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.text('description');
    t.text('interval').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.specificType('amount_currency', 'char(3)').notNullable();
    t.boolean('pay_in_advance').notNullable().defaultTo(false);
    t.decimal('trial_period', 10, 2).notNullable().defaultTo(0);
    t.bigInteger('minimum_commitment_amount_cents').notNullable().defaultTo(0);
    t.jsonb('usage_thresholds').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });

  await knex.schema.createTable('charges', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('plan_id').notNullable().references('plans.id');
    t.uuid('billable_metric_id').notNullable().references('billable_metrics.id');
    t.integer('position').notNullable();
    t.text('charge_model').notNullable();
    t.boolean('pay_in_advance').notNullable().defaultTo(false);
    t.boolean('invoiceable').notNullable().defaultTo(true);
    t.boolean('prorated').notNullable().defaultTo(false);
    t.bigInteger('min_amount_cents').notNullable().defaultTo(0);
    t.text('invoice_display_name');
    t.jsonb('properties').notNullable().defaultTo('{}');
    t.jsonb('filters').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['plan_id']);
  });

  await knex.schema.createTable('customers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('external_id').notNullable();
    t.text('name');
    t.text('email');
    t.specificType('currency', 'char(3)');
    t.text('timezone');
    t.integer('invoice_grace_period');
    t.text('country');
    t.text('tax_identification_number');
    t.jsonb('billing_configuration').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'external_id']);
  });

  await knex.schema.createTable('subscriptions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.uuid('plan_id').notNullable().references('plans.id');
    t.text('external_id').notNullable();
    t.text('name');
    // pending | active | terminated
    t.text('status').notNullable();
    t.text('billing_time').notNullable().defaultTo('calendar');
    t.timestamp('subscription_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true });
    t.timestamp('terminated_at', { useTz: true });
    t.text('workflow_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'external_id']);
    t.index(['customer_id']);
  });

  // Raw usage events: the ledger of what apps sent. Unique on (organization_id, transaction_id): a replay is
  // a duplicate, never a second row. Scale-out note: in production this table is partitioned by time.
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('organization_id').notNullable();
    t.text('transaction_id').notNullable();
    t.text('external_subscription_id').notNullable();
    t.uuid('subscription_id');
    t.text('code').notNullable();
    t.timestamp('timestamp', { useTz: true }).notNullable();
    t.jsonb('properties').notNullable().defaultTo('{}');
    t.decimal('precise_total_amount', 40, 15);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'transaction_id']);
    t.index(['subscription_id', 'code', 'timestamp']);
  });

  await knex.schema.createTable('invoices', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('customer_id').notNullable().references('customers.id');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    // subscription | termination | progressive_billing
    t.text('invoice_type').notNullable();
    // draft | finalized
    t.text('status').notNullable();
    // pending | succeeded | failed
    t.text('payment_status').notNullable().defaultTo('pending');
    t.text('number');
    t.timestamp('period_start', { useTz: true }).notNullable();
    t.timestamp('period_end', { useTz: true }).notNullable();
    t.date('issuing_date');
    t.specificType('currency', 'char(3)').notNullable();
    t.bigInteger('fees_amount_cents').notNullable().defaultTo(0);
    t.bigInteger('taxes_amount_cents').notNullable().defaultTo(0);
    t.bigInteger('total_amount_cents').notNullable().defaultTo(0);
    t.timestamp('finalized_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // One invoice per subscription, period and kind: a retried period close finds the first one.
    t.unique(['subscription_id', 'period_start', 'period_end', 'invoice_type']);
    t.unique(['organization_id', 'number']);
    t.index(['organization_id', 'customer_id']);
  });

  await knex.schema.createTable('fees', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('invoice_id').notNullable().references('invoices.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    // subscription | charge | charge_minimum | minimum_commitment | progressive_billing_credit
    t.text('fee_type').notNullable();
    t.uuid('charge_id');
    t.text('metric_code');
    t.text('display_name').notNullable();
    t.integer('filter_index');
    t.jsonb('filter_values');
    t.jsonb('grouped_by').notNullable().defaultTo('{}');
    t.decimal('units', 40, 15).notNullable();
    t.bigInteger('events_count').notNullable().defaultTo(0);
    t.decimal('unit_amount', 40, 15).notNullable();
    t.decimal('precise_amount', 40, 15).notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.decimal('proration_ratio', 40, 15);
    t.timestamp('from_datetime', { useTz: true }).notNullable();
    t.timestamp('to_datetime', { useTz: true }).notNullable();
    t.unique(['invoice_id', 'position']);
  });

  // Per-organization invoice numbering, allocated inside the finalizing transaction.
  await knex.schema.createTable('invoice_sequences', (t) => {
    t.uuid('organization_id').primary().references('organizations.id');
    t.bigInteger('last_number').notNullable().defaultTo(0);
  });

  // Idempotency-Key replays: the first response is stored with a hash of the request body.
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.uuid('organization_id').notNullable();
    t.text('key').notNullable();
    t.text('method').notNullable();
    t.text('path').notNullable();
    t.text('request_hash').notNullable();
    t.integer('status_code');
    t.jsonb('response_body');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'idempotency_keys', 'invoice_sequences', 'fees', 'invoices', 'events', 'subscriptions', 'customers',
    'charges', 'plans', 'billable_metrics', 'api_keys', 'organizations',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
