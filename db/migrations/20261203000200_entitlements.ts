// ops13f (issue 13): Lago's features, privileges and entitlements (Lago 1.51 tags `features` and `entitlements`).
// - features: one per (organization_id, code); name and description free text.
// - feature_privileges: a feature's typed privileges, one per (feature_id, code); value_type integer | boolean |
//   string | select (config.select_options for select); `position` keeps the order they were given in.
// - entitlements: a feature granted to a plan (plan_id) OR, as a per-subscription override, to a subscription
//   (subscription_id), never both; one per (plan, feature) and per (subscription, feature) (partial unique indexes).
// - entitlement_values: the value of one privilege in one entitlement, one per (entitlement_id, privilege_id), stored
//   as its canonical text (`10`, `true`, `okta`) and typed by the privilege when read.
// Deleting a feature or a privilege removes its entitlements and values everywhere (ON DELETE CASCADE, one statement).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('features', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.text('code').notNullable();
    t.text('name');
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'code']);
  });
  await knex.schema.createTable('feature_privileges', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('feature_id').notNullable().references('features.id').onDelete('CASCADE');
    t.text('code').notNullable();
    t.text('name');
    t.text('value_type').notNullable();
    t.jsonb('config').notNullable().defaultTo('{}');
    t.integer('position').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['feature_id', 'code']);
    t.index(['organization_id', 'feature_id']);
  });
  await knex.raw(`ALTER TABLE feature_privileges ADD CONSTRAINT feature_privileges_value_type_check CHECK (value_type IN ('integer', 'boolean', 'string', 'select'))`);
  await knex.schema.createTable('entitlements', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('feature_id').notNullable().references('features.id').onDelete('CASCADE');
    t.uuid('plan_id').references('plans.id').onDelete('CASCADE');
    t.uuid('subscription_id').references('subscriptions.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'feature_id']);
  });
  await knex.raw('ALTER TABLE entitlements ADD CONSTRAINT entitlements_one_owner CHECK ((plan_id IS NULL) <> (subscription_id IS NULL))');
  await knex.raw('CREATE UNIQUE INDEX entitlements_plan_feature ON entitlements (plan_id, feature_id) WHERE plan_id IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX entitlements_subscription_feature ON entitlements (subscription_id, feature_id) WHERE subscription_id IS NOT NULL');
  await knex.schema.createTable('entitlement_values', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('entitlement_id').notNullable().references('entitlements.id').onDelete('CASCADE');
    t.uuid('privilege_id').notNullable().references('feature_privileges.id').onDelete('CASCADE');
    t.text('value').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['entitlement_id', 'privilege_id']);
    t.index(['privilege_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('entitlement_values');
  await knex.schema.dropTableIfExists('entitlements');
  await knex.schema.dropTableIfExists('feature_privileges');
  await knex.schema.dropTableIfExists('features');
}
