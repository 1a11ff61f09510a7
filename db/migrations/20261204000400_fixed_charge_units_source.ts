// units11 (issue 11): who wrote a units change of a subscription's timeline (subscription_fixed_charge_units).
// `subscription` (PUT /subscriptions/:id/fixed_charges/:code, units-only plan_overrides: the subscription's own
// override, which a plan edit never touches) or `plan` (a plan's units change fanned out to its subscriptions:
// api/services/plan-fixed-charge-units.ts). Existing rows are the subscription's own.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscription_fixed_charge_units', (t) => {
    t.text('source').notNullable().defaultTo('subscription');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subscription_fixed_charge_units', (t) => {
    t.dropColumn('source');
  });
}
