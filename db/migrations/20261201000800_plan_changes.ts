// Plan changes, scheduled ends and migration starts of subscriptions (issue 11b).
//
// - subscription_plan_changes: one row per requested plan change. kind upgrade (effective at once) | downgrade
//   (effective at the period end); status pending → applied | canceled. At most ONE pending change per
//   subscription (partial unique index): a new request cancels the pending one (Lago replaces next_plan). An
//   applied change is unique per (subscription, effective_at): the workflow applies a change exactly once.
//   Rows are the plan history: the plan of a period starting at T is the from_plan of the first applied or
//   pending change effective after T, else the subscription's plan_id (db/repositories/plan-changes.ts).
// - subscriptions.ending_at: when the workflow terminates the subscription (Lago's ending_at; null = never).
// - subscriptions.billing_starts_at: a migrated subscription (history billed elsewhere): the first instant
//   Meterline bills; periods before it are never invoiced (null = bill from subscription_at).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscriptions', (t) => {
    t.timestamp('ending_at', { useTz: true });
    t.timestamp('billing_starts_at', { useTz: true });
  });
  await knex.schema.createTable('subscription_plan_changes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('subscription_id').notNullable().references('subscriptions.id');
    t.uuid('from_plan_id').notNullable().references('plans.id');
    t.uuid('to_plan_id').notNullable().references('plans.id');
    t.text('kind').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.timestamp('effective_at', { useTz: true }).notNullable();
    t.timestamp('applied_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'subscription_id', 'effective_at']);
  });
  await knex.raw(`ALTER TABLE subscription_plan_changes ADD CONSTRAINT subscription_plan_changes_kind CHECK (kind IN ('upgrade', 'downgrade'))`);
  await knex.raw(`ALTER TABLE subscription_plan_changes ADD CONSTRAINT subscription_plan_changes_status CHECK (status IN ('pending', 'applied', 'canceled'))`);
  await knex.raw(`CREATE UNIQUE INDEX subscription_plan_changes_one_pending ON subscription_plan_changes (subscription_id) WHERE status = 'pending'`);
  await knex.raw(`CREATE UNIQUE INDEX subscription_plan_changes_applied_once ON subscription_plan_changes (subscription_id, effective_at) WHERE status = 'applied'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('subscription_plan_changes');
  await knex.schema.alterTable('subscriptions', (t) => {
    t.dropColumn('ending_at');
    t.dropColumn('billing_starts_at');
  });
}
