// Per-subscription plan overrides (Lago's `plan_overrides` on POST / PUT /subscriptions, issue 11).
//
// As in Lago, an override creates a child plan: a copy of the parent plan (plans.parent_id) whose charges are copies
// of the parent's charges (charges.parent_id), with the overridden fields changed. Only the subscription it was made
// for uses it (subscriptions.plan_id points at the child); it keeps the parent's code, so the subscription still
// answers `plan_code` = the parent's code, and every place that prices a subscription's plan (close, current usage,
// preview, advance fees, progressive billing, the workflow's estimate) prices the child without knowing about it.
// plans.overrides keeps the override input (charges keyed by the parent charge id), so a PUT /plans with
// cascade_updates re-derives each child as the edited parent plus its own overrides.
// Children are hidden from the catalog: the live code uniqueness covers parent plans only.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.uuid('parent_id').references('plans.id');
    t.jsonb('overrides');
    t.index(['parent_id']);
  });
  await knex.schema.alterTable('charges', (t) => {
    t.uuid('parent_id').references('charges.id').onDelete('SET NULL');
  });
  await knex.raw('DROP INDEX plans_organization_id_code_live');
  await knex.raw(
    'CREATE UNIQUE INDEX plans_organization_id_code_live ON plans (organization_id, code) WHERE deleted_at IS NULL AND parent_id IS NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX plans_organization_id_code_live');
  await knex('plans').whereNotNull('parent_id').whereNull('deleted_at').update({ deleted_at: knex.fn.now() });
  await knex.raw('CREATE UNIQUE INDEX plans_organization_id_code_live ON plans (organization_id, code) WHERE deleted_at IS NULL');
  await knex.schema.alterTable('charges', (t) => t.dropColumn('parent_id'));
  await knex.schema.alterTable('plans', (t) => {
    t.dropIndex(['parent_id']);
    t.dropColumn('overrides');
    t.dropColumn('parent_id');
  });
}
