// Payments, payment providers and dunning (issue 10).
//
// - payment_providers: one Stripe connection per organization (secret key, webhook signing secret). Secrets are
//   stored as given (an operator-managed table; encrypting them at rest with a KMS key is the production step).
// - customers.provider_customer_id: the linked Stripe customer (Lago's billing_configuration.provider_customer_id).
// - payments: one row per provider attempt, unique on (invoice_id, attempt): a retried activity finds its row;
//   manual payments have attempt NULL (NULLs are distinct in the index). provider_payment_id is unique per organization: a webhook and the activity land on one row.
// - stripe_webhook_events: processed Stripe event ids; a duplicated delivery is a no-op.
// - payment_events: webhook-ready records of every payment / dunning step (the outgoing-webhook outbox reads them),
//   unique on (organization_id, dedupe_key) so a replayed step writes once.
// - dunning_campaigns: Lago's dunning_campaigns (max_attempts, days_between_attempts, thresholds per currency);
//   the one with applied_to_organization = true is the organization's default.
// - invoices: payment_due_date, payment_overdue, total_paid_amount_cents, metadata, voided_at; net_payment_term on
//   organizations and customers (customer overrides organization; Lago's semantics).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payment_providers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('provider').notNullable(); // stripe
    t.text('code').notNullable();
    t.text('secret_key').notNullable();
    t.text('webhook_secret');
    t.text('success_redirect_url');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'provider']);
  });

  await knex.schema.alterTable('customers', (t) => {
    t.text('payment_provider');
    t.text('provider_customer_id');
    t.integer('net_payment_term');
  });
  await knex.schema.alterTable('organizations', (t) => {
    t.integer('net_payment_term').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.date('payment_due_date');
    t.boolean('payment_overdue').notNullable().defaultTo(false);
    t.bigInteger('total_paid_amount_cents').notNullable().defaultTo(0);
    t.jsonb('metadata').notNullable().defaultTo('[]');
    t.timestamp('voided_at', { useTz: true });
  });

  await knex.schema.createTable('payments', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    // provider | manual
    t.text('payment_type').notNullable();
    t.integer('attempt');
    t.text('provider');
    t.text('provider_payment_id');
    t.text('idempotency_key');
    t.bigInteger('amount_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    // pending | requires_action | failed | processing | succeeded | canceled (forward-only, see repository)
    t.text('status').notNullable();
    t.text('failure_type');
    t.text('decline_code');
    t.text('reference');
    t.timestamp('paid_at', { useTz: true });
    t.bigInteger('refunded_amount_cents').notNullable().defaultTo(0);
    t.boolean('disputed').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['invoice_id', 'attempt']);
    t.unique(['organization_id', 'provider_payment_id']);
    t.index(['organization_id', 'invoice_id']);
  });

  await knex.schema.createTable('stripe_webhook_events', (t) => {
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('event_id').notNullable();
    t.text('event_type').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'event_id']);
  });

  await knex.schema.createTable('payment_events', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('invoice_id').notNullable().references('invoices.id');
    t.text('event_type').notNullable();
    t.text('dedupe_key').notNullable();
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.text('webhook_status').notNullable().defaultTo('pending');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'dedupe_key']);
    t.index(['organization_id', 'invoice_id']);
  });

  await knex.schema.createTable('dunning_campaigns', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('code').notNullable();
    t.text('name').notNullable();
    t.integer('max_attempts').notNullable();
    t.integer('days_between_attempts').notNullable();
    // [{currency, amount_cents}]: the campaign applies when the invoice's due amount reaches the threshold.
    t.jsonb('thresholds').notNullable().defaultTo('[]');
    // mark_uncollectible | terminate_subscription
    t.text('consequence').notNullable().defaultTo('mark_uncollectible');
    t.boolean('applied_to_organization').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });
  await knex.raw('CREATE UNIQUE INDEX dunning_campaigns_one_default ON dunning_campaigns (organization_id) WHERE applied_to_organization');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dunning_campaigns');
  await knex.schema.dropTable('payment_events');
  await knex.schema.dropTable('stripe_webhook_events');
  await knex.schema.dropTable('payments');
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumns('payment_due_date', 'payment_overdue', 'total_paid_amount_cents', 'metadata', 'voided_at');
  });
  await knex.schema.alterTable('organizations', (t) => t.dropColumn('net_payment_term'));
  await knex.schema.alterTable('customers', (t) => t.dropColumns('payment_provider', 'provider_customer_id', 'net_payment_term'));
  await knex.schema.dropTable('payment_providers');
}
