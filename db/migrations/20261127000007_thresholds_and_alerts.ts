// Usage thresholds (progressive billing) and usage alerts.
//
// - invoices.threshold_key / threshold_amount_cents: a progressive_billing invoice is unique per subscription,
//   period start and threshold level (`usage_threshold:<level cents>`). Its period_end is the crossing
//   instant, which differs between two evaluations, so the period key alone cannot make it idempotent: the
//   threshold key does. NULL for every other invoice (NULLs are distinct in a unique index, so the existing
//   invoices are unaffected).
// - usage_alerts: Lago's subscription alerts (alert_type, code, thresholds [{code, value, recurring}]).
// - usage_alert_triggers: one durable row per (alert, period, threshold level) crossed, with the crossing
//   value; webhook_status 'pending' until a webhook sender delivers it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.text('threshold_key');
    t.bigInteger('threshold_amount_cents');
    t.unique(['subscription_id', 'period_start', 'invoice_type', 'threshold_key'], { indexName: 'invoices_threshold_unique' });
  });

  await knex.schema.createTable('usage_alerts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    // current_usage_amount | billable_metric_current_usage_amount | billable_metric_current_usage_units
    t.text('alert_type').notNullable();
    t.text('code').notNullable();
    t.text('name');
    t.uuid('billable_metric_id').references('billable_metrics.id');
    // [{code: string|null, value: decimal string, recurring: boolean}]; amount values are minor units.
    t.jsonb('thresholds').notNullable().defaultTo('[]');
    t.decimal('previous_value', 40, 15).notNullable().defaultTo(0);
    t.timestamp('last_processed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['subscription_id', 'code']);
    t.index(['organization_id', 'subscription_id']);
  });

  await knex.schema.createTable('usage_alert_triggers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('alert_id').notNullable().references('usage_alerts.id').onDelete('CASCADE');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    t.timestamp('period_start', { useTz: true }).notNullable();
    t.timestamp('period_end', { useTz: true }).notNullable();
    t.text('threshold_code');
    t.decimal('threshold_value', 40, 15).notNullable();
    t.boolean('threshold_recurring').notNullable().defaultTo(false);
    /** The confirmed value that crossed the threshold. */
    t.decimal('crossed_value', 40, 15).notNullable();
    t.timestamp('triggered_at', { useTz: true }).notNullable();
    // pending | delivered | failed
    t.text('webhook_status').notNullable().defaultTo('pending');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // One trigger per alert, period and threshold level: a repeated evaluation never records it twice.
    t.unique(['alert_id', 'period_start', 'threshold_value']);
    t.index(['organization_id', 'subscription_id', 'triggered_at']);
    t.index(['webhook_status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('usage_alert_triggers');
  await knex.schema.dropTableIfExists('usage_alerts');
  await knex.schema.alterTable('invoices', (t) => {
    t.dropUnique(['subscription_id', 'period_start', 'invoice_type', 'threshold_key'], 'invoices_threshold_unique');
    t.dropColumn('threshold_key');
    t.dropColumn('threshold_amount_cents');
  });
}
